import type { Finding } from '../types';
import { label, lineEvidence, probeEvidence, replicasOf, slotOwningMasters, stateEvidence, type ClusterModel } from '../model';

/**
 * Too many slot-owning masters down: failure reports and failover elections both need a
 * majority of them, so dead masters stay `fail?` and no replica is promoted by itself.
 */
export function quorumLost(model: ClusterModel): Finding[] {
  const masters = slotOwningMasters(model);
  const down = masters.filter((m) => m.health === 'down' || m.health === 'suspect');
  const majority = Math.floor(masters.length / 2) + 1;
  const alive = masters.length - down.length;
  if (masters.length === 0 || alive >= majority) return [];
  const orphans = down.flatMap((m) => replicasOf(model, m.id).filter((r) => r.health === 'up'));
  return [{
    code: 'QUORUM_LOST',
    severity: 'critical',
    category: 'fault',
    title: `Quorum lost: ${down.length} of ${masters.length} masters are down`,
    detail:
      `${down.map(label).join(', ')} ${down.length === 1 ? 'is' : 'are'} down. A failover needs the votes of a majority ` +
      `(${majority}) of the ${masters.length} slot-owning masters and only ${alive} can vote, so the cluster cannot mark them ` +
      `failed or promote a replica by election: it stays down until someone acts. ` +
      (orphans.length
        ? `Replicas that can take over without an election (CLUSTER FAILOVER TAKEOVER): ${orphans.map(label).join(', ')}.`
        : 'No live replica of the failed masters is left: their slots must be restarted with their data or reassigned.'),
    evidence: [...down.flatMap((m) => [...lineEvidence(m, 1), ...probeEvidence(m)]), ...stateEvidence(model, 'fail', 2)],
    nodes: [...down.map((m) => m.id), ...orphans.map((r) => r.id)],
    slots: down.flatMap((m) => m.slots),
  }];
}
