// One BullMQ worker per queue: its options from the config and the process's worker settings, and
// one log line per job outcome (connection noise stays with the outage tracker).
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema';
import { errorMessage } from '../errors';
import type { Logger } from '../logging/logger';
import type { OutageTracker } from './connection';
import type { JobMetrics } from './metrics';
import type { QueueName } from './queues';

export interface WorkerSettings {
  /** Jobs run in parallel per queue in this process (default: config.queue.*Concurrency). */
  concurrency?: Partial<Record<QueueName, number>>;
  /** A job whose lock is not renewed for this long is stalled and handed to another worker (default 30 s). */
  lockDurationMs?: number;
  /** How often each worker looks for stalled jobs (default 30 s). */
  stalledIntervalMs?: number;
  /** Times a job may stall before it fails for good (default 1). */
  maxStalledCount?: number;
  /** On close: how long running jobs may take to finish before read-only ones are handed back (default 30 s). */
  shutdownGraceMs?: number;
  /** Shown as the job's processedBy and in CLIENT LIST (default `<hostname>-<pid>`). */
  name?: string;
}

export type JobProcessor = (job: Job, token?: string, signal?: AbortSignal) => Promise<unknown>;

export interface QueueWorkerDeps {
  config: Config;
  settings: WorkerSettings;
  workerName: string;
  connection: Redis;
  logger: Logger;
  tracker: Pick<OutageTracker, 'state'>;
  metrics: Pick<JobMetrics, 'observe'>;
}

export function createQueueWorker(name: QueueName, processor: JobProcessor, deps: QueueWorkerDeps): Worker {
  const { config, settings, workerName, logger, tracker } = deps;
  const defaultConcurrency: Record<QueueName, number> = {
    diagnose: config.queue.diagnoseConcurrency,
    repair: config.queue.repairConcurrency,
    monitor: config.queue.monitorConcurrency,
  };
  // Declared with three parameters so BullMQ passes the abort signal (it checks the arity).
  const worker = new Worker(name, (job, token, signal) => processor(job, token, signal), {
    connection: deps.connection,
    prefix: config.queue.prefix,
    name: workerName,
    autorun: false,
    concurrency: settings.concurrency?.[name] ?? defaultConcurrency[name],
    lockDuration: settings.lockDurationMs ?? 30_000,
    stalledInterval: settings.stalledIntervalMs ?? 30_000,
    maxStalledCount: settings.maxStalledCount ?? 1,
  });
  const level = name === 'monitor' ? 'debug' : 'info';
  worker.on('error', (err: Error) => {
    // Connection errors are the outage tracker's one line; anything else is worth seeing.
    if (tracker.state === 'down' || isConnectionError(err))
      logger.debug({ queue: name, error: errorMessage(err) }, 'worker connection error');
    else logger.error({ queue: name, error: errorMessage(err) }, `${name} worker error: ${errorMessage(err)}`);
  });
  worker.on('completed', (job: Job) => {
    logger[level](
      {
        queue: name,
        jobId: job.id,
        worker: workerName,
        ms: job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : undefined,
      },
      `${name} job ${job.id} completed`,
    );
  });
  worker.on('failed', (job: Job | undefined, err: Error) => {
    logger.warn(
      { queue: name, jobId: job?.id, worker: workerName, attemptsMade: job?.attemptsMade, error: errorMessage(err) },
      `${name} job ${job?.id ?? '?'} failed: ${errorMessage(err)}`,
    );
  });
  worker.on('stalled', (jobId: string) => {
    logger.warn({ queue: name, jobId }, `${name} job ${jobId} stalled (its worker died or hung) and was put back in the queue`);
  });
  deps.metrics.observe(worker, name);
  return worker;
}

function isConnectionError(err: Error): boolean {
  const code = (err as { code?: string }).code;
  return (
    (code !== undefined && /^E[A-Z]+$/.test(code)) ||
    /Connection is closed|Stream isn't writeable|connect E|ECONNRESET|ECONNREFUSED/.test(err.message)
  );
}
