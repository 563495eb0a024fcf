// Pure: what an incident's Slack thread still lacks, one step at a time, in the order people
// must read it (root, notes, diagnosis, fix buttons, root edits, the resolution). The monitor
// runs the step through the IncidentPublisher, records what landed, and asks again; a step that
// fails is asked for again at the next poll, so nothing is lost and nothing overtakes it.
import { formatRanges } from '../cluster/slots';
import { causeOf, findingsSignature } from './assess';
import type { RootView } from './incident-publisher';
import type { IncidentRecord } from './store';
import type { PlannedReport } from '../repair/types';

/** What this poll saw: a full diagnosis (a faulty poll), or nothing new (healthy or unchanged). */
export interface ThreadContext {
  report: PlannedReport | null;
  now: number;
  resolveAfterPolls: number;
}

export type ThreadStep =
  /** A new record: look for an open root of ours in the channel before posting one. */
  | { kind: 'adopt' }
  /** Post the root (after looking it up, when an earlier attempt may have landed). */
  | { kind: 'root'; lookFirst: boolean }
  /** A root post of unknown outcome, for an incident already resolved: find it to announce the end, or archive. */
  | { kind: 'find-root' }
  | { kind: 'note' }
  | { kind: 'diagnosis'; signature: string }
  | { kind: 'retire' }
  | { kind: 'refresh-fixes'; plans: string[] }
  | { kind: 'edit-root'; view: RootView; signature: string }
  /** Everything is said: move the record to the resolved list. */
  | { kind: 'archive' };

export function plansOf(report: PlannedReport): string[] {
  return report.fixes.map((p) => p.id);
}

/** The next step the thread needs, or null when it shows everything this poll knows. */
export function nextThreadStep(rec: IncidentRecord, ctx: ThreadContext): ThreadStep | null {
  if (rec.channel === null) return rec.resolvedAt !== null ? { kind: 'archive' } : null;
  if (rec.adoptCheck) return { kind: 'adopt' };
  if (rec.rootTs === null) {
    if (rec.resolvedAt !== null) return rec.rootUncertain ? { kind: 'find-root' } : { kind: 'archive' };
    // The root shows a diagnosis: without one this poll (healthy again before it landed), wait.
    return ctx.report ? { kind: 'root', lookFirst: rec.rootUncertain } : null;
  }
  if (rec.notes.length > 0) return { kind: 'note' };
  if (ctx.report && rec.resolvedAt === null) {
    const signature = findingsSignature(ctx.report);
    if (signature !== rec.findingsSignature || rec.reply !== null) return { kind: 'diagnosis', signature };
  }
  if (rec.retire) return { kind: 'retire' };
  if (ctx.report && rec.resolvedAt === null && rec.fixes) {
    const plans = plansOf(ctx.report);
    if (plans.join(',') !== rec.fixes.plans.join(',')) return { kind: 'refresh-fixes', plans };
  }
  const view = rootView(rec, ctx);
  if (view) {
    const signature = rootSignature(rec, view);
    if (signature !== rec.rootSignature) return { kind: 'edit-root', view, signature };
  }
  if (rec.resolvedAt !== null) return { kind: 'archive' };
  return null;
}

/** What the root should show now, or null when this poll knows nothing new (keep it). */
export function rootView(rec: IncidentRecord, ctx: ThreadContext): RootView | null {
  const view = rootViewWithoutSilence(rec, ctx);
  return view && rec.silenced ? { ...view, silenced: rec.silenced } : view;
}

function rootViewWithoutSilence(rec: IncidentRecord, ctx: ThreadContext): RootView | null {
  if (rec.resolvedAt !== null) {
    return {
      state: 'resolved',
      cause: rec.cause?.title ?? null,
      fix: rec.fix,
      resolvedAt: rec.resolvedAt,
      resolveAfterPolls: ctx.resolveAfterPolls,
      flaps: rec.flaps,
    };
  }
  if (ctx.report) return { state: 'open', report: ctx.report, detectedBy: rec.detectedBy, updatedAt: ctx.now, flaps: rec.flaps };
  if (rec.healthySince !== null) {
    return {
      state: 'recovering',
      cause: rec.cause?.title ?? null,
      since: rec.healthySince,
      resolveAfterPolls: ctx.resolveAfterPolls,
      flaps: rec.flaps,
    };
  }
  return null;
}

/**
 * What makes the root worth editing: its state and, while open, the verdict, the cause, the
 * slots not served and the nodes down. Never times or counters, so it is not edited every poll.
 */
export function rootSignature(rec: Pick<IncidentRecord, 'flaps'>, view: RootView): string {
  // Only a root that shows a silence has it in its signature: roots of before are not edited for it.
  const silenced = view.silenced ? [view.silenced.until] : [];
  if (view.state !== 'open') return JSON.stringify([view.state, rec.flaps, ...silenced]);
  const { report } = view;
  const down = report.nodes
    .filter((n) => n.health === 'down')
    .map((n) => n.id)
    .sort();
  return JSON.stringify([
    'open',
    rec.flaps,
    report.verdict,
    causeOf(report)?.title ?? null,
    formatRanges(report.coverage.uncovered),
    down,
    ...silenced,
  ]);
}
