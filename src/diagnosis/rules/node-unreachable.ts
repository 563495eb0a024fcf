import type { Finding } from '../types';
import { evidenceLine, label, seenRaw, type ClusterModel, type ModelNode } from '../model';
import { plural } from '../../text';

/**
 * Nodes redis-medic could not get an answer from, that no other rule already explains
 * (a down master or a ghost). Says whether the cluster still sees them, which separates a
 * frozen or partitioned node from a network problem between redis-medic and the node.
 */
export function nodeUnreachable(model: ClusterModel, explained: Set<string>): Finding[] {
  const silent = [...model.nodes.values()].filter((n) => n.reachable === false && !explained.has(n.id));
  if (silent.length === 0) return [];
  const parts = silent.map((n) => `${label(n)} (${n.role}): ${n.probe?.error ?? 'no answer'}; ${clusterOpinion(n)}`);
  return [
    {
      code: 'NODE_UNREACHABLE',
      severity: 'warning',
      category: 'fault',
      title: `${plural(silent.length, 'node')} did not answer`,
      detail: `${parts.join('; ')}.`,
      evidence: [
        ...silent.map((n) => evidenceLine(n.probe?.addr ?? n.addr, `redis-medic: ${n.probe?.error ?? 'no answer'}`)),
        ...silent.flatMap((n) => n.seenBy.slice(0, 1).map((s) => evidenceLine(s.viewer, seenRaw(s)))),
      ],
      nodes: silent.map((n) => n.id),
      slots: [],
    },
  ];
}

function clusterOpinion(node: ModelNode): string {
  if (node.flagged === 'fail') return 'the cluster flags it fail';
  if (node.flagged === 'pfail') return 'some nodes flag it fail? (not answering them either)';
  if (node.seenBy.length > 0 && node.seenBy.every((s) => s.line.linkState === 'connected')) {
    return 'the other nodes still see it healthy: check the network between redis-medic and it';
  }
  return 'the other nodes have not flagged it yet';
}
