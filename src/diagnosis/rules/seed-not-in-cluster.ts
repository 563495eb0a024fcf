import type { Finding } from '../types';
import { evidenceLine, type ClusterModel } from '../model';

/**
 * Addresses redis-medic was told to ask (configured seeds, the monitor's last known nodes) that
 * do not answer and that no node of the cluster lists: not an outage of the cluster (it has
 * moved on without them), but a configuration that no longer matches it.
 */
export function seedNotInCluster(model: ClusterModel): Finding[] {
  if (model.views.length === 0) return [];
  const members = new Set([...model.nodes.values()].map((n) => n.probe));
  const strays = model.unreachable.filter((p) => !members.has(p));
  if (strays.length === 0) return [];
  return [
    {
      code: 'SEED_NOT_IN_CLUSTER',
      severity: 'warning',
      category: 'risk',
      title: `${strays.length} configured address${strays.length === 1 ? '' : 'es'} not in the cluster`,
      detail:
        `${strays.map((p) => `${p.addr} (${p.error ?? 'no answer'})`).join(', ')}: no node of the cluster lists ${strays.length === 1 ? 'it' : 'them'} ` +
        'and redis-medic gets no answer. The node was removed or replaced: update the seeds in the configuration so the next outage is not diagnosed from a stale list.',
      evidence: strays.map((p) =>
        evidenceLine(p.addr, `redis-medic: ${p.error ?? 'no answer'}; listed by none of the ${model.views.length} nodes that answered`),
      ),
      nodes: [],
      slots: [],
    },
  ];
}
