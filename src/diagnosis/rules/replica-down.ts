import type { Finding } from '../types';
import { label, lineEvidence, probeEvidence, type ClusterModel, type ModelNode } from '../model';
import { plural } from '../../text';
import { lingeringOfKind } from './lingering';

/**
 * Replicas that are down (a crash, a network cut) while the shard still has a live copy: each
 * is a copy of its master's data to restart, not a ghost. Forgetting one removes that copy, and
 * once it is back it would have to be met and told to replicate again.
 */
export function replicaDown(model: ClusterModel): Finding[] {
  const down = lingeringOfKind(model, 'replica-down');
  if (down.length === 0) return [];
  return [
    {
      code: 'REPLICA_DOWN',
      severity: 'warning',
      category: 'fault',
      title: `${plural(down.length, 'replica')} down: ${down.map(({ node }) => node.addr || node.id.slice(0, 8)).join(', ')}`,
      detail:
        down.map(({ node, master }) => `${label(node)}: ${whatHappened(node)}; ${masterText(master)}`).join('. ') +
        '. Restart ' +
        (down.length === 1 ? 'it' : 'each') +
        ' with its data dir (same port and nodes.conf), or, if its process still runs, check the network ' +
        'between it and the other nodes (client and bus ports): it rejoins as a replica and resyncs from its master. ' +
        'Do not forget it: that removes a copy, and once it is back it would need CLUSTER MEET and CLUSTER REPLICATE again.',
      evidence: down.flatMap(({ node }) => [...lineEvidence(node, 1), ...probeEvidence(node)]),
      nodes: down.map(({ node }) => node.id),
      slots: [],
    },
  ];
}

function whatHappened(node: ModelNode): string {
  const parts: string[] = [];
  if (node.reachable === false) parts.push(`it does not answer (${node.probe?.error ?? 'no reply'})`);
  if (node.flagged === 'fail') parts.push('the cluster flags it `fail`');
  else if (node.flagged === 'pfail') parts.push('other nodes flag it `fail?`');
  return parts.join(' and ') || 'it is down';
}

function masterText(master: ModelNode | undefined): string {
  if (!master) return 'its master is not listed by any node';
  if (master.health === 'up' && master.slots.length > 0)
    return `its master ${label(master)} is up and serves its slots, which now have one copy fewer`;
  if (master.health === 'up') return `its master ${label(master)} is up`;
  if (master.slots.length === 0)
    return `its master ${label(master)} is down too and serves no slots any more (failed over or emptied): once it is back, check which master it replicates (CLUSTER REPLICATE the shard's new master if it stays behind)`;
  return `its master ${label(master)} is down too, but another replica of it is alive`;
}
