import { comparableAddr } from '../../cluster/address';
import { countSlots, formatRanges, intersectRanges, mergeRanges, subtractRanges, type SlotRange } from '../../cluster/slots';
import type { ClusterModel, ModelNode } from '../../diagnosis/model';
import type { DiagnosisReport, Finding, FindingCode, NodeReport } from '../../diagnosis/types';
import { plural } from '../../text';

/** Everything a planner may look at: the report, the model it came from, the configured spares. */
export interface PlanContext {
  report: DiagnosisReport;
  model: ClusterModel;
  spareNodes: string[];
}

export function findingsOf(ctx: PlanContext, code: FindingCode): Finding[] {
  return ctx.report.findings.filter((f) => f.code === code);
}

export function reportNode(ctx: PlanContext, id: string): NodeReport | undefined {
  return ctx.report.nodes.find((n) => n.id === id);
}

/** Nodes that answered and gave their own view: the only ones a plan may send commands to. */
export function liveNodes(ctx: PlanContext): ModelNode[] {
  return [...ctx.model.nodes.values()].filter((n) => n.reachable === true && n.own?.myself && n.addr).sort(byAddr);
}

export function liveMasters(ctx: PlanContext): ModelNode[] {
  return liveNodes(ctx).filter((n) => n.role === 'master' && n.health === 'up');
}

// What localeCompare(b, 'en', { numeric: true }) does, without building a collator per call.
const NUMERIC = new Intl.Collator('en', { numeric: true });

export function byAddr(a: Pick<ModelNode, 'addr' | 'id'>, b: Pick<ModelNode, 'addr' | 'id'>): number {
  return NUMERIC.compare(a.addr, b.addr) || a.id.localeCompare(b.id);
}

export function isDown(node: ModelNode): boolean {
  return node.health === 'down' || node.health === 'suspect';
}

export function liveReplicasOf(ctx: PlanContext, masterId: string): ModelNode[] {
  return [...ctx.model.nodes.values()]
    .filter((n) => n.role === 'replica' && n.masterId === masterId && n.health === 'up' && n.reachable === true && n.own)
    .sort(byAddr);
}

/** Down masters that still own slots. */
export function downMasters(ctx: PlanContext): ModelNode[] {
  return [...ctx.model.nodes.values()].filter((n) => n.role === 'master' && n.slots.length > 0 && isDown(n)).sort(byAddr);
}

/** A spare from the config: outside the cluster, or already in it as a live master without slots. */
export interface SpareCandidate {
  addr: string;
  /** Set when the spare already is a member (a live, slot-less master). */
  member?: ModelNode;
}

export function spareCandidates(ctx: PlanContext): SpareCandidate[] {
  // No spares configured (the usual case): nothing to index (20,000 nodes make 20,000 address keys).
  if (ctx.spareNodes.length === 0) return [];
  const byKey = new Map<string, ModelNode>();
  for (const node of ctx.model.nodes.values()) if (node.addr) byKey.set(comparableAddr(node.addr), node);
  const out: SpareCandidate[] = [];
  const seen = new Set<string>();
  for (const addr of ctx.spareNodes) {
    const key = comparableAddr(addr);
    if (seen.has(key)) continue;
    seen.add(key);
    const member = byKey.get(key);
    if (!member) out.push({ addr });
    else if (
      member.role === 'master' &&
      member.health === 'up' &&
      member.reachable === true &&
      member.slots.length === 0 &&
      (member.own?.probe.replies?.dbsize ?? 0) === 0
    ) {
      out.push({ addr: member.addr, member });
    }
  }
  return out;
}

/** The slots that `node`'s own view assigns to some master (itself included). */
export function ownedInViewOf(node: ModelNode, ranges: SlotRange[]): SlotRange[] {
  const lines = node.own?.lines ?? [];
  return intersectRanges(
    ranges,
    lines.filter((l) => l.flags.includes('master')).flatMap((l) => l.slots),
  );
}

export function rangeArgs(ranges: SlotRange[]): string[] {
  return ranges.flatMap(([a, b]) => [String(a), String(b)]);
}

export function slotText(ranges: SlotRange[]): string {
  const n = countSlots(ranges);
  return `${formatRanges(ranges)} (${plural(n, 'slot')})`;
}

export function name(node: Pick<ModelNode, 'addr' | 'id'>): string {
  return `${node.addr || 'no address'} (${node.id.slice(0, 8)})`;
}

/** The highest config epoch any node has: a joining node must have caught up with it. */
export function maxEpoch(ctx: PlanContext): number {
  let max = 0;
  for (const node of ctx.model.nodes.values()) max = Math.max(max, node.epoch);
  for (const view of ctx.model.views) max = Math.max(max, view.info?.currentEpoch ?? 0);
  return max;
}

/**
 * Slots no live master owns: owned by a master that is down, or by nobody. Not the same as
 * `uncovered` (what clients cannot reach): with quorum lost, the live masters' own slots are
 * refused too, yet they have an owner and need no new one.
 */
export function ownerlessSlots(ctx: PlanContext): SlotRange[] {
  return mergeRanges([...ctx.report.coverage.servedByFailedMaster, ...ctx.report.coverage.unassigned]);
}

/** Whether the cluster has no slot problem a plan of another kind would have to fix first. */
export function fullyCovered(ctx: PlanContext): boolean {
  return ctx.report.coverage.uncovered.length === 0;
}

export function subtract(ranges: SlotRange[], minus: SlotRange[]): SlotRange[] {
  return subtractRanges(ranges, minus);
}
