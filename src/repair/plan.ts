import type { ClusterSnapshot } from '../cluster/types';
import { buildModel } from '../diagnosis/model';
import type { DiagnosisReport } from '../diagnosis/types';
import { addReplicaPlans } from './plans/add-replica';
import { allowPartialCoveragePlans } from './plans/allow-partial-coverage';
import { assignSlotsPlans } from './plans/assign-slots';
import { closeOpenSlotsPlans } from './plans/close-open-slots';
import type { PlanContext } from './plans/context';
import { forgetGhostsPlans } from './plans/forget-ghosts';
import { meetNodesPlans } from './plans/meet-nodes';
import { promoteReplicaPlans } from './plans/promote-replica';
import { restartNodePlans } from './plans/restart-node';
import type { FixPlan } from './types';

export interface PlanOptions {
  /** Configured spare nodes (host:port) that a plan may bring into the cluster. */
  spareNodes?: string[];
}

// In the order a person should consider them: restarting a node whose data survived beats
// anything that gives its slots away; root causes before their consequences; prevention last.
const PLANNERS: Array<(ctx: PlanContext) => FixPlan[]> = [
  restartNodePlans,
  promoteReplicaPlans,
  assignSlotsPlans,
  meetNodesPlans,
  closeOpenSlotsPlans,
  forgetGhostsPlans,
  allowPartialCoveragePlans,
  addReplicaPlans,
];

export const OFFLINE_NOTE =
  'Sketched from a paste: only the pasted nodes are known. Run `redis-medic diagnose` against the live cluster for a plan that can be run (the executor re-diagnoses and runs only plans it finds again).';

/**
 * Pure: a diagnosis in, fix plans out, each with exact commands on exact nodes of this cluster
 * (or its configured spares). Deterministic: the same snapshot always gives the same plan ids.
 */
export function planFixes(report: DiagnosisReport, snapshot: ClusterSnapshot, options: PlanOptions = {}): FixPlan[] {
  if (report.findings.length === 0) return [];
  const ctx: PlanContext = { report, model: buildModel(snapshot), spareNodes: options.spareNodes ?? [] };
  const plans = PLANNERS.flatMap((planner) => planner(ctx));
  const seen = new Set<string>();
  const unique = plans.filter((p) => !seen.has(p.id) && seen.add(p.id));
  // From a paste only the pasted views are known: "every live node" means those few.
  if (snapshot.offline) for (const plan of unique) plan.preconditions.unshift(OFFLINE_NOTE);
  return unique;
}
