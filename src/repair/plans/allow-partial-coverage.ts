import { countSlots, SLOT_COUNT } from '../../cluster/slots';
import { identify } from '../fingerprint';
import type { FixPlan } from '../types';
import { findingsOf, liveNodes, reportNode, slotText, type PlanContext } from './context';

/**
 * While some slots are down, `cluster-require-full-coverage yes` makes every node refuse every
 * query. Setting it to no on every live node serves the covered slots again (partial
 * availability). Not persisted (no CONFIG REWRITE): a restart brings `yes` back, and it should
 * be set back by hand once the cluster is whole. Useless when quorum is lost: a minority node
 * refuses queries whatever this setting says.
 */
export function allowPartialCoveragePlans(ctx: PlanContext): FixPlan[] {
  const uncovered = ctx.report.coverage.uncovered;
  if (uncovered.length === 0 || findingsOf(ctx, 'QUORUM_LOST').length > 0) return [];
  const live = liveNodes(ctx);
  const strict = live.filter((n) => reportNode(ctx, n.id)?.requireFullCoverage !== false);
  if (strict.length === 0) return [];
  const served = SLOT_COUNT - countSlots(uncovered);
  const plan: Omit<FixPlan, 'id'> = {
    action: 'ALLOW_PARTIAL_COVERAGE',
    title: `Temporarily serve the ${served} covered slots: cluster-require-full-coverage no on every live node (partial availability)`,
    fixes: (
      ['SLOTS_UNASSIGNED', 'SHARD_ALL_COPIES_DOWN', 'MASTER_DOWN_NO_REPLICA', 'REPLICA_NOT_PROMOTED', 'FULL_COVERAGE_SETTING'] as const
    ).filter((c) => findingsOf(ctx, c).length > 0),
    risk: 'high',
    dataLoss: {
      slots: [],
      lastKnownKeys: null,
      text: `None, but slots ${slotText(uncovered)} stay down: clients get errors for those keys while the rest is served, and may write inconsistent multi-key data across the gap.`,
    },
    preconditions: [
      'Temporary: set cluster-require-full-coverage back to yes once every slot is served again; a restart of a node also brings yes back (CONFIG SET is not persisted).',
      'The applications tolerate errors for some keys (partial availability) rather than none.',
    ],
    steps: live.map((n) => ({
      node: n.addr,
      command: ['CONFIG', 'SET', 'cluster-require-full-coverage', 'no'],
      why: 'serve the covered slots',
    })),
    expected: `Every live node reports cluster-require-full-coverage no and serves the ${served} covered slots; the others stay down until repaired.`,
    executable: true,
    verify: { clusterOk: false, config: { parameter: 'cluster-require-full-coverage', value: 'no' } },
  };
  return [{ ...identify({ ...plan, involved: live.map((n) => n.id), nodes: ctx.report.nodes, extra: { uncovered } }), ...plan }];
}
