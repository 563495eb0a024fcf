import { withDeadline } from '../../deadline';
import { errorMessage } from '../../errors';
import type { Logger } from '../../logging/logger';

/**
 * Hooks post to Slack; Slack being slow or down must never fail, stall or retry a job. A hook
 * is bounded by `timeoutMs` and its failure is logged.
 */
export async function callHook(logger: Logger, name: string, call: (() => Promise<void>) | undefined, timeoutMs = 10_000): Promise<void> {
  if (!call) return;
  try {
    await withDeadline(call(), timeoutMs, () => new Error(`hook ${name} did not finish within ${timeoutMs} ms`));
  } catch (err) {
    logger.warn({ hook: name, error: errorMessage(err) }, `job hook ${name} failed: ${errorMessage(err)}`);
  }
}

/** Who a job acts for, as the audit log names actors. */
export function actorOf(origin: { kind: string; user?: string; source?: string }): string {
  switch (origin.kind) {
    case 'slack':
      return origin.user ?? 'slack';
    case 'cli':
      return `cli:${origin.user ?? 'unknown'}`;
    case 'alert':
      return origin.source ?? 'alertmanager';
    default:
      return 'monitor';
  }
}
