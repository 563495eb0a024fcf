import { isIP } from 'node:net';
import { plural } from '../../text';
import type { Finding } from '../types';
import { evidenceLine, label, slotOwningMasters, type ClusterModel, type ModelNode } from '../model';

/**
 * Every node looks down to the others at once, and it follows a restart: most likely the nodes
 * came back at new addresses (Kubernetes gives a rescheduled pod a new IP) while nodes.conf kept
 * the old ones, so each node keeps calling its peers where nothing answers any more. Their data
 * is probably intact: introduce them to each other at the new addresses (CLUSTER MEET) before
 * anything that gives slots away or promotes a replica, both of which lose keys.
 *
 * Two signs, either is enough:
 * - moved: a node answers where redis-medic asked, yet announces another address, the one its
 *   peers list and flag as failing (the model keeps where it answers as its address);
 * - alone since it started: every node that answered has not received a single cluster bus
 *   message since it started (CLUSTER INFO cluster_stats_messages_received:0) and flags every
 *   other slot-owning master: a restart of all of them, after which nobody found anybody.
 */
export function addressesChanged(model: ClusterModel): Finding[] {
  const moved = [...model.nodes.values()].filter((n) => n.announcedAddr).sort((a, b) => a.addr.localeCompare(b.addr));
  const answering = model.views.filter((v) => v.myself);
  const masters = slotOwningMasters(model);
  const alone =
    answering.length > 0 &&
    answering.every((v) => v.info?.fields['cluster_stats_messages_received'] === '0') &&
    masters.every((m) => m.own || m.flagged !== null) &&
    masters.some((m) => !m.own);
  if (moved.length === 0 && !alone) return [];

  const meetable = moved.filter((n) => isIP(n.host));
  const notMoved = masters.filter((m) => !m.announcedAddr);
  const detail =
    (moved.length
      ? `${moved.map((n) => `${n.addr} announces itself as ${n.announcedAddr}`).join('; ')}: ${moved.length === 1 ? 'it answers' : 'they answer'} ` +
        'at a new address, and the other nodes, which only know the old one, cannot reach ' +
        `${moved.length === 1 ? 'it' : 'them'} and flag ${moved.length === 1 ? 'it' : 'them'} as failing. `
      : `None of the ${plural(answering.length, 'node')} that answered has received a single cluster message since it started ` +
        '(cluster_stats_messages_received:0), and each flags every other master as failing. ') +
    'After a restart this means the addresses changed (Kubernetes gives a rescheduled pod a new IP; nodes.conf keeps the old ones), ' +
    'so every node looks down at once although the processes, and probably their data, are fine. ' +
    (meetable.length >= 2
      ? 'Introduce the nodes to each other at their new addresses (CLUSTER MEET, offered below) before anything that reassigns slots or promotes a replica: those lose keys. '
      : 'Find their new addresses (`kubectl get pods -o wide`), add them to the seeds (within allowedNetworks), and introduce the nodes to each other there ' +
        '(CLUSTER MEET <new-ip> <port> <bus-port> on each node) before anything that reassigns slots or promotes a replica: those lose keys. ') +
    (notMoved.some((m) => !m.own)
      ? `Not found at a new address yet: ${notMoved
          .filter((m) => !m.own)
          .map(label)
          .join(', ')}. `
      : '') +
    'To keep it from happening again, have the nodes announce names that survive a restart (cluster-announce-hostname with ' +
    'cluster-preferred-endpoint-type hostname, Redis 7+) or give the pods stable addresses.';
  return [
    {
      code: 'ADDRESSES_CHANGED',
      severity: 'critical',
      category: 'fault',
      title: moved.length
        ? `${plural(moved.length, 'node')} answer${moved.length === 1 ? 's' : ''} at a new address the cluster does not know: addresses changed after a restart?`
        : 'Every node looks down at once right after a restart: addresses may have changed',
      detail,
      evidence: [
        ...moved.flatMap(movedEvidence),
        ...(moved.length
          ? []
          : answering
              .slice(0, 3)
              .map((v) =>
                evidenceLine(
                  v.probe.addr,
                  `cluster_stats_messages_received:0 cluster_stats_messages_sent:${v.info?.fields['cluster_stats_messages_sent'] ?? '?'}`,
                ),
              )),
      ].slice(0, 8),
      nodes: moved.length ? moved.map((n) => n.id) : masters.map((m) => m.id),
      slots: (moved.length ? moved : masters).flatMap((n) => n.slots),
    },
  ];
}

function movedEvidence(node: ModelNode): string[] {
  const out = [evidenceLine(node.addr, `${node.own!.myself!.raw}   <- answered at ${node.addr}`)];
  const seen = node.seenBy.find((s) => s.line.flags.includes('fail?') || s.line.flags.includes('fail'));
  if (seen) out.push(evidenceLine(seen.viewer, seen.line.raw));
  return out;
}
