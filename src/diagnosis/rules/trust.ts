import { comparableAddr } from '../../cluster/address';
import { allowedNetworksLine } from '../../cluster/scope';
import type { OutOfScopeAddress } from '../../cluster/types';
import { plural } from '../../text';
import { evidenceLine, label, rawLineIn, type ClusterModel, type ModelNode } from '../model';
import type { Finding } from '../types';

const EVIDENCE_SHOWN = 10;

/**
 * Addresses the cluster lists outside the scope the operator configured: redis-medic did not
 * connect to them (nor send them the password). Either the scope is too narrow for this
 * cluster, or a node lists an address that is not one of its own.
 */
export function nodeOutOfScope(model: ClusterModel): Finding[] {
  const outside = model.snapshot.outOfScope ?? [];
  if (outside.length === 0) return [];
  const ids = new Set(outside.map((o) => o.line.slice(0, o.line.indexOf(' '))).filter((id) => model.nodes.has(id)));
  const shown = outside
    .slice(0, 5)
    .map((o) => o.addr)
    .join(', ');
  const more = outside.length > 5 ? ` and ${outside.length - 5} more` : '';
  const nodesOutside = outside.filter((o) => !o.queueRedis).map((o) => o.addr);
  return [
    {
      code: 'NODE_OUT_OF_SCOPE',
      severity: 'warning',
      category: 'risk',
      title: `${outside.length} listed address${outside.length === 1 ? '' : 'es'} outside the allowed networks: not asked`,
      detail:
        `${shown}${more}: redis-medic never connects to (nor sends the password to) an address outside this cluster's scope, ` +
        `${model.snapshot.scope ?? 'its seeds and spare nodes'}. Nodes there are neither checked nor repaired. ` +
        queueNote(outside) +
        (nodesOutside.length
          ? `If ${nodesOutside.length === 1 ? 'it is a node' : 'they are nodes'} of this cluster, set in this cluster's configuration: ${allowedNetworksLine(model.snapshot.scopeEntries ?? [], nodesOutside)} `
          : '') +
        '(or a CIDR or port range that covers them). If not, a node lists an address that is not its own ' +
        '(cluster-announce-ip/-port), or something feeds the cluster false nodes.',
      evidence: [
        ...outside.slice(0, EVIDENCE_SHOWN).map((o) => evidenceLine(o.namedBy, o.line)),
        ...(outside.length > EVIDENCE_SHOWN
          ? [`... and ${outside.length - EVIDENCE_SHOWN} more address${outside.length - EVIDENCE_SHOWN === 1 ? '' : 'es'}`]
          : []),
      ],
      nodes: [...ids],
      slots: [],
    },
  ];
}

function queueNote(outside: OutOfScopeAddress[]): string {
  const queue = outside.filter((o) => o.queueRedis).map((o) => o.addr);
  if (queue.length === 0) return '';
  return `${queue.join(', ')} is the queue Redis's address (queue.redisUrl): it is never asked as a node of a cluster, whatever allowedNetworks says; a node listing it announces an address that is not its own. `;
}

/**
 * A node answered at an address where the cluster lists another node: it is not that node, so
 * its answer was left out of the diagnosis (src/diagnosis/identity.ts).
 */
export function nodeIdMismatch(model: ClusterModel): Finding[] {
  if (model.impostors.length === 0) return [];
  const listedNodes = model.impostors.flatMap((i) =>
    i.listed.map((l) => model.nodes.get(l.line.id)).filter((n): n is ModelNode => n !== undefined),
  );
  const parts = model.impostors.map((i) => {
    const expected = i.listed.map((l) => label(l.line)).join(' or ');
    return `at ${i.addr} the cluster lists ${expected}, but ${i.view.myself!.id.slice(0, 8)} answers there`;
  });
  return [
    {
      code: 'NODE_ID_MISMATCH',
      severity: 'warning',
      category: 'fault',
      title:
        model.impostors.length === 1
          ? `Another node answers at ${model.impostors[0]!.addr} than the one the cluster lists there`
          : `Other nodes answer at ${model.impostors.length} addresses than the ones the cluster lists there`,
      detail:
        `${parts.join('; ')}. A node that answers with another id is not that node: its answer is not used in this diagnosis ` +
        'and no plan acts on it. Either the listed node announces an address that is not its own ' +
        '(cluster-announce-ip/-port/-bus-port: check its announce settings), or the address now belongs to another Redis, ' +
        'or the node there was restarted with an empty nodes.conf (a new id: its peers mark the old one noaddr within ' +
        "seconds, and the next diagnosis names it). The cluster's own gossip reaches that process too.",
      evidence: model.impostors.flatMap((i) => [
        ...i.listed.slice(0, 2).map((l) => evidenceLine(l.viewer, rawLineIn(l.view, l.line))),
        evidenceLine(i.addr, i.view.myself!.raw),
      ]),
      nodes: [...new Set(listedNodes.map((n) => n.id))],
      slots: [],
    },
  ];
}

/**
 * An answer nothing trusted vouches for: only one view lists it there, and it does not know
 * that view back (or only untrusted views list it). One node's word about another is data: the
 * answer is left out (src/diagnosis/identity.ts), so no plan meets, repairs or counts it.
 */
export function nodeNotConfirmed(model: ClusterModel): Finding[] {
  if (model.unconfirmed.length === 0) return [];
  const parts = model.unconfirmed.map((u) => {
    const by = u.listedBy.map((l) => l.viewer);
    return `${u.view.myself!.id.slice(0, 8)} answers at ${u.addr}, listed there only by ${by.length ? by.join(', ') : 'no trusted view'}, which it does not list back`;
  });
  return [
    {
      code: 'NODE_NOT_CONFIRMED',
      severity: 'warning',
      category: 'fault',
      title:
        model.unconfirmed.length === 1
          ? `A node at ${model.unconfirmed[0]!.addr} is vouched for by one node only: not trusted`
          : `Nodes at ${model.unconfirmed.length} addresses are vouched for by one node only: not trusted`,
      detail:
        `${parts.join('; ')}. A node of this cluster is listed by its peers and lists them back; what one node says about ` +
        'another is data, so this answer is not used in the diagnosis and no plan acts on it (no MEET towards it). Either the ' +
        'listing node is broken or hostile (it lists an unrelated Redis), or the node there forgot the cluster (CLUSTER RESET, ' +
        'a lost nodes.conf): check it by hand before you introduce it with CLUSTER MEET.',
      evidence: model.unconfirmed.flatMap((u) => [
        ...u.listedBy.slice(0, 2).map((l) => evidenceLine(l.viewer, l.line.raw)),
        evidenceLine(u.addr, u.view.myself!.raw),
      ]),
      nodes: [...new Set(model.unconfirmed.map((u) => u.view.myself!.id))].filter((id) => model.nodes.has(id)),
      slots: [],
    },
  ];
}

/** A read cap bit: some answer was dropped, or some listed node was not asked. */
export function readCapHit(model: ClusterModel): Finding[] {
  const hits = model.snapshot.capsHit ?? [];
  if (hits.length === 0) return [];
  const byAddr = new Map<string, ModelNode>();
  for (const node of model.nodes.values()) if (node.addr) byAddr.set(comparableAddr(node.addr), node);
  const dropped = hits.filter((h) => h.addr);
  const notFollowed = hits.filter((h) => h.cap === 'maxNodes');
  const title = [
    dropped.length ? `${plural(dropped.length, 'answer')} dropped` : '',
    notFollowed.length ? 'not every listed node asked' : '',
  ]
    .filter(Boolean)
    .join(', ');
  return [
    {
      code: 'READ_CAP_HIT',
      severity: 'warning',
      category: 'fault',
      title: `Read caps hit: ${title}`,
      detail:
        `${hits.map((h) => (h.addr ? `${h.addr} ${h.detail}` : h.detail)).join('; ')}. ` +
        'redis-medic bounds what it reads from any node, so a broken or hostile node cannot exhaust it; what lies past a cap ' +
        'is unknown to this diagnosis (such nodes are neither judged down nor repaired). A real cluster this large needs the ' +
        'caps raised (collection.maxReplyBytes, maxClusterNodesLines, maxNodes); otherwise look at what that node lists ' +
        '(a handshake storm, a node that is not Redis).',
      evidence: hits.map((h) =>
        evidenceLine(
          h.addr ?? 'redis-medic',
          `redis-medic: ${h.detail}${h.notAsked?.length ? ` (first not asked: ${h.notAsked.slice(0, 5).join(', ')})` : ''}`,
        ),
      ),
      nodes: dropped.map((h) => byAddr.get(comparableAddr(h.addr!))?.id).filter((id): id is string => id !== undefined),
      slots: [],
    },
  ];
}
