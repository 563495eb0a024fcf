import type { Finding } from '../types';
import { formatRanges } from '../../cluster/slots';
import {
  label,
  lineEvidence,
  probeEvidence,
  replicasOf,
  slotOwningMasters,
  stateEvidence,
  type ClusterModel,
  type ModelNode,
} from '../model';

/**
 * Too many slot-owning masters down: failure reports and failover elections both need a
 * majority of them, so dead masters stay `fail?` and no replica is promoted by itself.
 */
export function quorumLost(model: ClusterModel): Finding[] {
  const { masters, down, majority, alive, lost } = quorumState(model);
  if (!lost) return [];
  // Every node that cannot reach a majority is in cluster_state:fail and refuses every query,
  // its own slots included (measured: the survivor of 2 of 3 masters says fail).
  const refusing = masters.filter((m) => m.health === 'up' && m.own?.info?.state !== 'ok');
  const orphans = down.flatMap((m) => replicasOf(model, m.id).filter((r) => r.health === 'up'));
  return [
    {
      code: 'QUORUM_LOST',
      severity: 'critical',
      category: 'fault',
      title: `Quorum lost: ${down.length} of ${masters.length} masters ${down.length === 1 ? 'is' : 'are'} down`,
      detail:
        `${down.map(label).join(', ')} ${down.length === 1 ? 'is' : 'are'} down. A failover needs the votes of a majority ` +
        `(${majority}) of the ${masters.length} slot-owning masters and only ${alive} can vote, so the cluster cannot mark them ` +
        `failed or promote a replica by election: it stays down until someone acts. ` +
        (refusing.length
          ? `${refusing.length === alive ? (alive === 1 ? 'The surviving master' : 'The surviving masters') : refusing.map(label).join(', ')} cannot reach a majority either: ` +
            `every such node reports cluster_state:fail and refuses all queries (CLUSTERDOWN), ${refusing.length === 1 ? 'its own slots' : 'their own slots'} ${formatRanges(refusing.flatMap((m) => m.slots))} too. `
          : '') +
        (orphans.length
          ? `Replicas that can take over without an election (CLUSTER FAILOVER TAKEOVER): ${orphans.map(label).join(', ')}.`
          : 'No live replica of the failed masters is left: their slots must be restarted with their data or reassigned.'),
      evidence: [...down.flatMap((m) => [...lineEvidence(m, 1), ...probeEvidence(m)]), ...stateEvidence(model, 'fail', 2)],
      nodes: [...down.map((m) => m.id), ...orphans.map((r) => r.id)],
      slots: down.flatMap((m) => m.slots),
    },
  ];
}

/** Slot-owning masters, those down or `fail?`, and whether the rest is short of a majority. */
export function quorumState(model: ClusterModel): {
  masters: ModelNode[];
  down: ModelNode[];
  majority: number;
  alive: number;
  lost: boolean;
} {
  const masters = slotOwningMasters(model);
  const down = masters.filter((m) => m.health === 'down' || m.health === 'suspect');
  const majority = Math.floor(masters.length / 2) + 1;
  const alive = masters.length - down.length;
  return { masters, down, majority, alive, lost: masters.length > 0 && alive < majority };
}
