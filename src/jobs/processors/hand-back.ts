import { WaitingError, type Job } from 'bullmq';
import { errorMessage } from '../../errors';
import type { Logger } from '../../logging/logger';

type Processor<D, R> = (job: Job<D, R>, token?: string, signal?: AbortSignal) => Promise<R>;

/**
 * For read-only jobs (diagnose, monitor): when the worker aborts the job (shutdown grace over,
 * or its lock was lost) the job goes back to the wait list at once, for another worker, instead
 * of waiting out the stalled-job check. The abandoned attempt finishes in the background,
 * bounded by its own timeouts, and its result is dropped. Never used for repairs.
 */
export function handBackOnAbort<D, R>(processor: Processor<D, R>, logger: Logger): Processor<D, R> {
  return async (job, token, signal) => {
    if (!signal) return processor(job, token, signal);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      if (signal.aborted) resolve('aborted');
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    const work = processor(job, token, signal);
    try {
      const winner = await Promise.race([work.then((result) => ({ result })), aborted]);
      if (winner !== 'aborted') return winner.result;
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
    work.catch(() => undefined);
    try {
      await job.moveToWait(token);
      logger.info(
        { queue: job.queueName, jobId: job.id },
        `handed job ${job.id} back to the queue (${String(signal.reason ?? 'aborted')})`,
      );
    } catch (err) {
      // The lock is gone already: the stalled-job check hands it back instead.
      logger.warn(
        { queue: job.queueName, jobId: job.id, error: errorMessage(err) },
        `could not hand job ${job.id} back; the stalled-job check will`,
      );
    }
    throw new WaitingError();
  };
}
