import diagnosticsChannel from 'node:diagnostics_channel';
import { parseHostPort } from '../cluster/address';
import type { AddressScope } from '../cluster/scope';
import type { KeyCountRequest } from '../cluster/collect-snapshot';
import { countSlots } from '../cluster/slots';
import type { ClusterSnapshot } from '../cluster/types';
import { buildModel, type ClusterModel } from '../diagnosis/model';
import type { DiagnosisReport } from '../diagnosis/types';
import { addReplicaPlans } from './plans/add-replica';
import { allowPartialCoveragePlans } from './plans/allow-partial-coverage';
import { assignSlotsPlans, orphanSlots } from './plans/assign-slots';
import { closeOpenSlotsPlans } from './plans/close-open-slots';
import { liveMasters, type PlanContext } from './plans/context';
import { forgetGhostsPlans } from './plans/forget-ghosts';
import { meetNewAddressesPlans } from './plans/meet-new-addresses';
import { meetNodesPlans } from './plans/meet-nodes';
import { promoteReplicaPlans } from './plans/promote-replica';
import { restartNodePlans, restartReplicaPlans } from './plans/restart-node';
import type { FixPlan, LastKnownKeys } from './types';
import { meetBusProblems, planAddresses } from './validate';
import { failoverPendingIds } from '../diagnosis/rules/transitions';
import { mergeRanges, rangesOverlap, subtractRanges, type SlotRange } from '../cluster/slots';

export interface PlanOptions {
  /** Configured spare nodes (host:port) that a plan may bring into the cluster. */
  spareNodes?: string[];
  /**
   * Key counts recorded while nodes were alive (the monitor's history), by node id: a plan that
   * gives away a dead node's slots can then say how many keys go with them.
   */
  lastKnown?: ReadonlyMap<string, LastKnownKeys>;
  /** The model the report was diagnosed from, when the caller has it (built once, not twice). */
  model?: ClusterModel;
  /**
   * The cluster's configured scope: a plan that would touch or introduce an address outside it
   * is never offered. Collection only asks nodes inside it, so none should; this makes it a rule.
   */
  scope?: AddressScope;
}

// In the order a person should consider them: restarting a node whose data survived beats
// anything that gives its slots away; root causes before their consequences; prevention last.
const PLANNERS: Array<(ctx: PlanContext) => FixPlan[]> = [
  // Nodes back at new addresses: introducing them loses nothing, and makes the rest moot.
  meetNewAddressesPlans,
  restartNodePlans,
  promoteReplicaPlans,
  assignSlotsPlans,
  meetNodesPlans,
  closeOpenSlotsPlans,
  restartReplicaPlans,
  forgetGhostsPlans,
  allowPartialCoveragePlans,
  addReplicaPlans,
];

export const MOVED_NOTE =
  'The nodes that look down are not merely at new addresses (ADDRESSES_CHANGED): introduce them there first (CLUSTER MEET), which loses nothing; this plan loses keys.';

export const OFFLINE_NOTE =
  'Sketched from a paste: only the pasted nodes are known. Run `redis-medic diagnose` against the live cluster for a plan that can be run (the executor re-diagnoses and runs only plans it finds again).';

/**
 * Pure: a diagnosis in, fix plans out, each with exact commands on exact nodes of this cluster
 * (or its configured spares). Deterministic: the same snapshot always gives the same plan ids.
 */
export function planFixes(report: DiagnosisReport, snapshot: ClusterSnapshot, options: PlanOptions = {}): FixPlan[] {
  if (report.findings.length === 0) return [];
  const ctx: PlanContext = { report, model: options.model ?? buildModel(snapshot), spareNodes: options.spareNodes ?? [] };
  const plans = outsideFailoverWindow(
    PLANNERS.flatMap((planner) => planner(ctx)),
    report,
  );
  const seen = new Set<string>();
  const scope = options.scope;
  // Inside the scope: every address a plan goes to or introduces, and every bus port it hands out.
  const unique = plans.filter(
    (p) =>
      !seen.has(p.id) &&
      seen.add(p.id) &&
      (!scope || (planAddresses(p).every((a) => scope.allows(a)) && meetBusProblems(p, scope).length === 0)),
  );
  // Masters that look down may be alive at new addresses: anything that loses keys waits.
  if (report.findings.some((f) => f.code === 'ADDRESSES_CHANGED')) {
    for (const plan of unique) if (plan.dataLoss.slots.length > 0) plan.preconditions.unshift(MOVED_NOTE);
  }
  // From a paste only the pasted views are known: "every live node" means those few.
  if (snapshot.offline) for (const plan of unique) plan.preconditions.unshift(OFFLINE_NOTE);
  if (options.lastKnown?.size) for (const plan of unique) annotateLostKeys(plan, report, options.lastKnown);
  if (plansChannel.hasSubscribers)
    plansChannel.publish({ cluster: report.cluster, offline: snapshot.offline === true, plans: unique } satisfies PlansMade);
  // A command names the node to run it on: a label (`pasted-view-1`) or an empty address is a
  // bug in a planner, and no plan is offered rather than one nobody can follow.
  const misaddressed = unique.flatMap((p) =>
    stepNodes(p)
      .filter((node) => !isHostPort(node))
      .map((node) => `${p.id} names "${node}"`),
  );
  if (misaddressed.length) throw new Error(`a plan names a node that is not a host:port address (${misaddressed.join('; ')})`);
  return unique;
}

/** What `plansChannel` publishes: every set of plans made, for observers (the test suite). */
export interface PlansMade {
  cluster: string;
  offline: boolean;
  plans: FixPlan[];
}

/** `node:diagnostics_channel` channel with every set of plans made (free when nobody listens). */
export const plansChannel = diagnosticsChannel.channel('redis-medic:plans');

/** Every node a plan sends a command to, waits on, or checks. */
export function stepNodes(plan: FixPlan): string[] {
  return [...plan.steps.flatMap((s) => [s.node, ...(s.waitFor ? [s.waitFor.node] : [])]), ...(plan.checks ?? []).map((c) => c.node)];
}

export function isHostPort(text: string): boolean {
  try {
    parseHostPort(text);
    return true;
  } catch {
    return false;
  }
}

/** At most this many COUNTKEYSINSLOT per diagnosis (all nodes together): milliseconds, not seconds. */
const MAX_KEY_COUNTS = 65_536;

/**
 * Pure: which keys to count before planning. The slots no live master owns and no replica can
 * take over, on the live masters that hold any key: where their keys are decides who should
 * get them (ASSIGN_UNCOVERED_SLOTS). Null when there is nothing to ask.
 */
export function keyCountRequest(report: DiagnosisReport, model: ClusterModel): KeyCountRequest | null {
  const ctx: PlanContext = { report, model, spareNodes: [] };
  const { orphans } = orphanSlots(ctx);
  const slots = countSlots(orphans);
  if (slots === 0) return null;
  const addrs = liveMasters(ctx)
    .filter((m) => m.own && (m.own.probe.replies?.dbsize ?? 1) > 0)
    .map((m) => m.own!.probe.addr)
    .slice(0, Math.max(1, Math.floor(MAX_KEY_COUNTS / slots)));
  return addrs.length ? { addrs, slots: orphans } : null;
}

/**
 * While Redis is failing a master over by itself (FAILOVER_IN_PROGRESS: a replica it can promote,
 * inside node-timeout plus the election), no plan may act on that master: not promote its replica
 * by hand, not restart it, not give its slots away, not switch coverage off for slots that are
 * about to come back. The finding says to re-check; once the window has passed the master is
 * REPLICA_NOT_PROMOTED and these plans come back, with the reason. Plans for anything else stay.
 */
function outsideFailoverWindow(plans: FixPlan[], report: DiagnosisReport): FixPlan[] {
  const pending = failoverPendingIds(report.findings);
  if (pending.size === 0) return plans;
  // As ranges, never slot by slot.
  const pendingSlots = mergeRanges(report.nodes.filter((n) => pending.has(n.id)).flatMap((n) => n.slots));
  const touches = (ranges: readonly SlotRange[]): boolean => rangesOverlap(ranges, pendingSlots);
  const onlyPending = subtractRanges(report.coverage.uncovered, pendingSlots).length === 0;
  return plans.filter((plan) => {
    const involved = (plan.basis?.nodes ?? []).map((n) => n.id);
    if (['PROMOTE_REPLICA', 'RESTART_NODE', 'ASSIGN_UNCOVERED_SLOTS'].includes(plan.action) && involved.some((id) => pending.has(id)))
      return false;
    if (touches(plan.dataLoss.slots) || (plan.verify?.slotsServed && touches(plan.verify.slotsServed))) return false;
    return !(plan.action === 'ALLOW_PARTIAL_COVERAGE' && onlyPending);
  });
}

/**
 * "About 1,830 keys were on 10.0.0.32:6379 at 03:21": the down masters whose slots the plan
 * gives away, with their last recorded key counts. Never part of the plan id (it is history).
 */
function annotateLostKeys(plan: FixPlan, report: DiagnosisReport, lastKnown: ReadonlyMap<string, LastKnownKeys>): void {
  if (plan.dataLoss.slots.length === 0) return;
  const overlaps = (a: [number, number], b: [number, number]): boolean => a[0] <= b[1] && b[0] <= a[1];
  const lost = report.nodes
    .filter((n) => n.role === 'master' && n.health === 'down' && n.slots.some((r) => plan.dataLoss.slots.some((l) => overlaps(r, l))))
    .map((n) => lastKnown.get(n.id))
    .filter((k): k is LastKnownKeys => k !== undefined);
  if (lost.length === 0) return;
  plan.dataLoss.lastKnownKeys = lost.reduce((sum, k) => sum + k.keys, 0);
  const parts = lost.map(
    (k) => `about ${k.keys.toLocaleString('en-US')} keys were on ${k.addr} at ${k.at.slice(11, 16)} UTC (${k.at.slice(0, 10)})`,
  );
  plan.dataLoss.text += ` Last seen by the monitor: ${parts.join('; ')}.`;
}
