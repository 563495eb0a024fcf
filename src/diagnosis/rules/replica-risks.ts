import type { Finding } from '../types';
import { countSlots } from '../../cluster/slots';
import { label, lineEvidence, replicasOf, slotOwningMasters, type ClusterModel } from '../model';
import { plural } from '../../text';
import { joinerIds } from './node-keeps-joining';

/** Live masters with slots and no live replica: the next crash of one loses its slots. */
export function masterWithoutReplica(model: ClusterModel): Finding[] {
  const alone = slotOwningMasters(model).filter((m) => m.health === 'up' && !replicasOf(model, m.id).some((r) => r.health === 'up'));
  if (alone.length === 0) return [];
  return [
    {
      code: 'MASTER_WITHOUT_REPLICA',
      severity: 'warning',
      category: 'risk',
      title: `${plural(alone.length, 'master')} without a replica`,
      detail:
        alone.map((m) => `${label(m)} (${countSlots(m.slots)} slots)`).join(', ') +
        ': if one fails, its slots go down with it and the cluster stops (with full coverage required). Add a replica (CLUSTER REPLICATE on a spare node).',
      evidence: alone.flatMap((m) => lineEvidence(m, 0)),
      nodes: alone.map((m) => m.id),
      slots: alone.flatMap((m) => m.slots),
    },
  ];
}

/** A master and its replica on one host: one machine failure takes both. */
export function replicaSameHost(model: ClusterModel): Finding[] {
  const pairs = slotOwningMasters(model).flatMap((m) =>
    replicasOf(model, m.id)
      .filter((r) => r.host && r.host === m.host)
      .map((r) => ({ m, r })),
  );
  if (pairs.length === 0) return [];
  return [
    {
      code: 'REPLICA_SAME_HOST',
      severity: 'warning',
      category: 'risk',
      title: `${plural(pairs.length, 'replica')} on the same host as ${pairs.length === 1 ? 'its' : 'their'} master`,
      detail:
        pairs.map(({ m, r }) => `${r.addr} replicates ${m.addr} on host ${m.host}`).join('; ') +
        ': losing that host loses both copies of those slots. Place replicas in another failure domain.',
      evidence: pairs.flatMap(({ m, r }) => [...lineEvidence(m, 0), ...lineEvidence(r, 0)]).slice(0, 8),
      nodes: pairs.flatMap(({ m, r }) => [m.id, r.id]),
      slots: [],
    },
  ];
}

/** Live masters that own no slots: spares, or leftovers of a failed resharding. */
export function masterWithoutSlots(model: ClusterModel): Finding[] {
  // An instance that keeps trying to join is no spare of this cluster (NODE_KEEPS_JOINING).
  const joiners = joinerIds(model);
  const empty = [...model.nodes.values()].filter(
    (n) => n.role === 'master' && n.health === 'up' && n.reachable === true && n.slots.length === 0 && !joiners.has(n.id),
  );
  if (empty.length === 0) return [];
  return [
    {
      code: 'MASTER_WITHOUT_SLOTS',
      severity: 'info',
      category: 'risk',
      title: `${plural(empty.length, 'master')} own no slots`,
      detail: `${empty.map(label).join(', ')} own no slots and serve nothing: spares ready to take slots or to become replicas.`,
      evidence: empty.flatMap((n) => lineEvidence(n, 0)),
      nodes: empty.map((n) => n.id),
      slots: [],
    },
  ];
}
