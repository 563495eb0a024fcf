// Shutting workers down without losing or freezing jobs, and closing queue-Redis connections
// within a bound. Used by the job system's close().
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { errorMessage } from '../errors';
import type { Logger } from '../logging/logger';
import type { QueueName } from './queues';

export const QUIT_TIMEOUT_MS = 2_000;
const HAND_BACK_WAIT_MS = 5_000;

export interface WorkerShutdownDeps {
  logger: Logger;
  /** True while the queue Redis cannot be reached: nothing can finish or be handed back then. */
  queueRedisDown: () => boolean;
}

// Never closes a connection under a running job that BullMQ may still try to finish: it
// retries that on a closed connection in a tight loop (no delay while closing), which freezes
// the process. So close() waits for jobs to end: read-only ones are handed back after the
// grace period, repairs are waited for (their steps and verification have their own bounds).
// With the queue Redis down nothing can finish or be handed back: the workers are closed at
// once (BullMQ then drops their results) and other workers recover the jobs as stalled.
// Returns false when a worker had to be left behind (its connection must stay open).
export async function closeWorker(name: QueueName, worker: Worker, graceMs: number, deps: WorkerShutdownDeps): Promise<boolean> {
  const { logger, queueRedisDown } = deps;
  if (queueRedisDown()) {
    logger.warn(
      { queue: name },
      `the queue Redis is unreachable: closing the ${name} worker without waiting; its running jobs will be recovered as stalled by other workers`,
    );
    return settleWithin(
      worker.close(true).catch(() => undefined),
      QUIT_TIMEOUT_MS,
    );
  }
  // Closing a BullMQ connection while it is still starting up makes it emit an 'error' with no
  // listener left (a crash): let the start-up finish first.
  await settleWithin(worker.waitUntilReady(), QUIT_TIMEOUT_MS);
  const closed = worker.close().then(
    () => true,
    (err: unknown) => {
      logger.warn({ queue: name, error: errorMessage(err) }, `closing the ${name} worker failed: ${errorMessage(err)}`);
      return true;
    },
  );
  if (await settleWithin(closed, graceMs)) return true;
  if (name === 'repair') {
    logger.warn(
      { queue: name },
      `a repair is still running after ${graceMs / 1000} s of shutdown grace; waiting for it to finish (a repair is never abandoned half-way)`,
    );
  } else {
    logger.warn({ queue: name }, `${name} jobs still running after ${graceMs / 1000} s of shutdown grace: handing them back to the queue`);
    worker.cancelAllJobs('shutdown');
  }
  const pollMs = name === 'repair' ? graceMs : HAND_BACK_WAIT_MS;
  while (!(await settleWithin(closed, pollMs))) {
    if (queueRedisDown()) {
      logger.error(
        { queue: name },
        `the queue Redis went away while the ${name} worker was finishing: giving up on it; its jobs will be recovered as stalled`,
      );
      return false;
    }
    logger.warn({ queue: name }, `still waiting for the ${name} worker to finish its running jobs`);
  }
  return true;
}

export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a connection politely when the server can answer, at once when it cannot. */
export async function quitConnection(connection: Redis): Promise<void> {
  if (connection.status === 'end') return;
  // QUIT waits for the server; when it is down there is no one to say goodbye to.
  if (connection.status !== 'ready' || !(await settleWithin(connection.quit(), QUIT_TIMEOUT_MS))) connection.disconnect();
}
