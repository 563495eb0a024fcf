// Every wait polls a condition and is bounded by a timeout whose error names what was awaited
// and what was last observed.
import { errorMessage } from '../../errors';
import { parseClusterNodes, parseInfo } from './node-lines';
import { sleep, StopPolling } from './redis-process';
import type { ClusterNodeLine, TestNode, WaitOptions } from './types';

export const DEFAULT_WAIT_MS = 15_000;
const POLL_INTERVAL_MS = 50;

export interface PollSpec<S> {
  what: string;
  timeoutMs: number;
  sample(): Promise<S>;
  done(sample: S): boolean;
  describe(sample: S): string;
}

export async function pollUntil<S>(spec: PollSpec<S>): Promise<void> {
  const deadline = Date.now() + spec.timeoutMs;
  for (;;) {
    let last: string;
    try {
      const sample = await spec.sample();
      if (spec.done(sample)) return;
      last = spec.describe(sample);
    } catch (err) {
      if (err instanceof StopPolling) throw err;
      last = `error: ${errorMessage(err)}`;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(`Timed out after ${spec.timeoutMs} ms waiting for ${spec.what}. Last observation:\n${last}`);
    }
    await sleep(Math.min(POLL_INTERVAL_MS, remaining));
  }
}

/** One node's reply to a command, or why it did not reply. */
export interface Observation {
  node: TestNode;
  text?: string;
  error?: string;
}

export type Answered = Observation & { text: string };

export function allAnswered(obs: Observation[]): obs is Answered[] {
  return obs.every((o) => o.text !== undefined);
}

export function findLine(text: string, id: string): ClusterNodeLine | undefined {
  return parseClusterNodes(text).find((line) => line.id === id);
}

export function summarizeInfo(text: string): string {
  const info = parseInfo(text);
  const keys = [
    'cluster_state',
    'cluster_slots_assigned',
    'cluster_slots_ok',
    'cluster_slots_pfail',
    'cluster_slots_fail',
    'cluster_known_nodes',
    'cluster_size',
    'cluster_current_epoch',
  ];
  return keys.map((key) => `${key.replace('cluster_', '')}=${info[key] ?? '?'}`).join(' ');
}

export function summarizeNodes(text: string): string {
  return parseClusterNodes(text)
    .map(
      (l) => `    ${l.id.slice(0, 8)} ${l.addr} ${l.flags.join(',')} ${l.masterId?.slice(0, 8) ?? '-'} ${l.linkState} ${l.slots.join(' ')}`,
    )
    .join('\n');
}

/** Polls `check` every 50 ms until it returns true; throws naming `what` on timeout. */
export async function eventually(check: () => boolean | Promise<boolean>, opts: WaitOptions = {}): Promise<void> {
  await pollUntil({
    what: opts.what ?? 'a condition',
    timeoutMs: opts.timeoutMs ?? DEFAULT_WAIT_MS,
    sample: async () => check(),
    done: (ok) => ok,
    describe: () => 'check returned false',
  });
}
