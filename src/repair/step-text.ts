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
