import type { Job } from 'bullmq';
import { errorMessage } from '../errors';
import type { MonitorJobData } from '../jobs/types';
import type { Logger } from '../logging/logger';
import type { MonitorPoll, PollOutcome } from './monitor';

/** Told about every poll's outcome after the monitor has acted on it (metrics, paging). */
export type PollObserver = (outcome: PollOutcome, at: number) => Promise<void>;

/**
 * The monitor's poll with observers after it: they see each decision (incident opened, still
 * open, resolved) without the monitor knowing them. An observer that fails is logged and never
 * fails the poll; observers run one after another, in the order given.
 */
export function observePolls(poll: MonitorPoll, observers: PollObserver[], logger: Logger, now: () => number = Date.now): MonitorPoll {
  if (observers.length === 0) return poll;
  return async (job: Job<MonitorJobData>) => {
    const outcome = (await poll(job)) as PollOutcome;
    const at = now();
    for (const observe of observers) {
      try {
        await observe(outcome, at);
      } catch (err) {
        logger.warn({ error: errorMessage(err), cluster: outcome.cluster }, `a poll observer failed: ${errorMessage(err)}`);
      }
    }
    return outcome;
  };
}
