// Pure: what a repair cut short by its worker's death did, from the progress it recorded step by
// step (the executor names every step before the first runs, then each step's outcome).
import type { RepairProgress, StepResult } from '../../repair/types';

type StepRef = { node: string; command: string[] };

export interface Interruption {
  /** The plan's steps, when the run got as far as naming them. */
  plan: StepRef[] | null;
  /** Steps that ran, with their recorded answers. */
  ran: StepResult[];
  /** Steps sent whose answer was never recorded: they may have run. */
  unknown: StepRef[];
  notRun: StepRef[];
}

export function describeInterruption(records: readonly RepairProgress[], fallbackPlan?: StepRef[]): Interruption {
  const started = records.find((r): r is Extract<RepairProgress, { phase: 'started' }> => r.phase === 'started');
  const plan = started?.steps ?? fallbackPlan ?? null;
  const last = new Map<number, Extract<RepairProgress, { phase: 'step' }>>();
  for (const r of records) {
    // Key-move batches report 'running' repeatedly: an outcome, once recorded, stays.
    if (r.phase !== 'step') continue;
    const seen = last.get(r.index);
    if (!seen || seen.status === 'running') last.set(r.index, r);
  }
  const total = plan?.length ?? Math.max(0, ...[...last.keys()].map((i) => i + 1));
  const ran: StepResult[] = [];
  const unknown: StepRef[] = [];
  const notRun: StepRef[] = [];
  for (let index = 0; index < total; index++) {
    const record = last.get(index);
    const step = plan?.[index] ?? (record ? { node: record.node, command: record.command } : undefined);
    if (!step) continue;
    if (!record) notRun.push(step);
    else if (record.status === 'running') unknown.push(step);
    else ran.push({ node: step.node, command: step.command, reply: record.reply ?? '', ok: record.status === 'ok', ms: record.ms ?? 0 });
  }
  return { plan, ran, unknown, notRun };
}

/** The reason a person reads: which steps ran, which may have, which did not, and what comes next. */
export function interruptionReason(i: Interruption): string {
  const line = (s: StepRef, n: number): string => `${n}. ${s.node}> ${s.command.join(' ')}`;
  const numberOf = (s: StepRef): number => (i.plan ? i.plan.indexOf(s) + 1 : 0);
  const total = i.plan?.length ?? i.ran.length + i.unknown.length + i.notRun.length;
  const parts = [`interrupted: the worker running this repair stopped after ${i.ran.length} of ${total} step${total === 1 ? '' : 's'}.`];
  if (i.ran.length)
    parts.push(`Ran: ${i.ran.map((s, k) => `${line(s, k + 1)} (${s.ok ? 'ok' : 'FAILED'}${s.reply ? `: ${s.reply}` : ''})`).join('; ')}.`);
  if (i.unknown.length)
    parts.push(`Sent, answer never recorded (it may have run): ${i.unknown.map((s) => line(s, numberOf(s))).join('; ')}.`);
  if (i.notRun.length) parts.push(`Not run: ${i.notRun.map((s) => line(s, numberOf(s))).join('; ')}.`);
  parts.push('Nothing was re-run. The cluster was diagnosed again: the plan that completes the job is offered in the thread.');
  return parts.join(' ');
}
