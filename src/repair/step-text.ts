import type { KeyMove } from './types';

/**
 * A step's command as people read it (CLI, Slack): empty arguments shown as "", and a key move's
 * keys, which the plan does not carry, named for what they will be.
 */
export function commandText(step: { command: string[]; moveKeys?: KeyMove }): string {
  const text = step.command.map((a) => (a === '' ? '""' : /\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  const isMove =
    step.moveKeys !== undefined ||
    (step.command[0]?.toUpperCase() === 'MIGRATE' && step.command[step.command.length - 1]?.toUpperCase() === 'KEYS');
  if (!isMove) return text;
  const what = step.moveKeys ? `up to ${step.moveKeys.batch} keys of slot ${step.moveKeys.slot}` : 'the next keys of the slot';
  return `${text} <${what} (CLUSTER GETKEYSINSLOT), repeated until none is left>`;
}

/**
 * What a person must do for a plan redis-medic cannot run (advice: restart a process, no steps):
 * its title is the action, its preconditions say how; then a new diagnosis shows what follows.
 * Shown instead of "0 steps on 0 nodes" (Slack) and next to the plan in the CLI.
 */
export function byHandLines(plan: { title: string; preconditions: string[] }): string[] {
  return [`${plan.title}.`, ...plan.preconditions, 'Then diagnose again: redis-medic offers what follows once the cluster shows it.'];
}

/** A plan with no step for redis-medic to run: the person does it by hand. */
export function isByHand(plan: { steps: unknown[]; executable: boolean }): boolean {
  return plan.steps.length === 0 || !plan.executable;
}
