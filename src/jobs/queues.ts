import { createHash } from 'node:crypto';
import { Queue, type DefaultJobOptions, type Job, type JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import { findCluster } from '../config/clusters';
import type { Config } from '../config/schema';
import { withDeadline } from '../deadline';
import { ErrorCode, errorMessage, isRedisMedicError, RedisMedicError } from '../errors';
import type { DiagnoseJobData, DiagnoseJobResult, Enqueuer, MonitorJobData, RepairJobData, RepairJobResult } from './types';
import { queueKeys } from '../queue-keys';

export const QUEUE_NAMES = ['diagnose', 'repair', 'monitor'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export type DiagnoseQueue = Queue<DiagnoseJobData, DiagnoseJobResult>;
export type RepairQueue = Queue<RepairJobData, RepairJobResult>;
export type MonitorQueue = Queue<MonitorJobData, unknown>;

export interface JobQueues {
  diagnose: DiagnoseQueue;
  repair: RepairQueue;
  monitor: MonitorQueue;
  /** Closes the Queue objects; the shared connection stays open (its owner closes it). */
  close(): Promise<void>;
}

/** How long an enqueue or a result read may take before the caller is told the queue is unavailable. */
export const QUEUE_CALL_TIMEOUT_MS = 2000;
const DIAGNOSE_ATTEMPTS = 3;
const DIAGNOSE_BACKOFF_MS = 1000;

export function parseQueueNames(text: string): QueueName[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(QUEUE_NAMES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new RedisMedicError(
      ErrorCode.ConfigError,
      `unknown queue${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ') || '(none given)'}: choose from ${QUEUE_NAMES.join(', ')}`,
    );
  }
  return [...new Set(names)] as QueueName[];
}

/**
 * Default options per queue. Diagnoses are cheap and read-only: retried with backoff. Repairs
 * change a cluster: one attempt, never retried by BullMQ (the processor reports instead).
 * Finished jobs are kept, bounded by age and count, so results stay readable by job id.
 */
export function defaultJobOptions(config: Pick<Config, 'queue'>): Record<QueueName, DefaultJobOptions> {
  const { keepCompletedSeconds, keepCompletedCount, keepFailedSeconds } = config.queue;
  const keep = {
    removeOnComplete: { age: keepCompletedSeconds, count: keepCompletedCount },
    removeOnFail: { age: keepFailedSeconds, count: keepCompletedCount },
  };
  return {
    diagnose: { attempts: DIAGNOSE_ATTEMPTS, backoff: { type: 'exponential', delay: DIAGNOSE_BACKOFF_MS }, ...keep },
    repair: { attempts: 1, ...keep },
    // The next scheduled poll is the retry.
    monitor: { attempts: 1, ...keep },
  };
}

export function createQueues(config: Pick<Config, 'queue'>, connection: Redis): JobQueues {
  const options = defaultJobOptions(config);
  const make = <D, R>(name: QueueName): Queue<D, R> =>
    new Queue<D, R>(name, { connection, prefix: config.queue.prefix, defaultJobOptions: options[name] });
  const queues = {
    diagnose: make<DiagnoseJobData, DiagnoseJobResult>('diagnose'),
    repair: make<RepairJobData, RepairJobResult>('repair'),
    monitor: make<MonitorJobData, unknown>('monitor'),
  };
  // Connection errors reach every Queue as 'error' events; without a listener they would
  // throw. The connection's outage tracker logs them once.
  for (const queue of Object.values(queues)) queue.on('error', () => undefined);
  let closing: Promise<void> | undefined;
  return {
    ...queues,
    close() {
      closing ??= Promise.all(Object.values(queues).map((q) => q.close().catch(() => undefined))).then(() => undefined);
      return closing;
    },
  };
}

/**
 * The job id of a repair: one per (plan id, approval id), so the same approval can never queue
 * two runs. Hashed because BullMQ custom ids may not contain ':' nor be integers, and ids made
 * by users must not be able to collide by concatenation.
 */
export function repairJobId(planId: string, approvalId: string): string {
  if (!planId || !approvalId) throw new RedisMedicError(ErrorCode.ConfigError, 'a repair job needs a plan id and an approval id');
  const digest = createHash('sha256').update(planId).update('\0').update(approvalId).digest('hex');
  return `repair-${digest.slice(0, 40)}`;
}

/** What a job is doing or did, read by job id (the Slack side uses it). */
export interface JobStatus<R> {
  jobId: string;
  state: JobState | 'unknown';
  /** The job's return value, once completed. */
  result?: R;
  /** Why it failed (after its last attempt), once failed. */
  error?: string;
  progress?: unknown;
  attemptsMade: number;
  attemptsStarted: number;
  processedBy?: string;
  finishedAt?: number;
}

export interface JobResults {
  /** null when no such job exists (never queued, or past its retention). */
  getDiagnosisResult(jobId: string): Promise<JobStatus<DiagnoseJobResult> | null>;
  getRepairResult(jobId: string): Promise<JobStatus<RepairJobResult> | null>;
  getMonitorResult(jobId: string): Promise<JobStatus<unknown> | null>;
}

export interface EnqueuerOptions {
  /** Producer connection (fail-fast) for the approval markers: the one the queues use. */
  redis: Redis;
  timeoutMs?: number;
  /** Why the queue cannot be used right now, if it cannot (default: the connection is not ready). */
  unavailable?: () => string | undefined;
}

/**
 * Fast enqueues for request handlers: the cluster name is checked against the config first
 * (bad input changes nothing), and every call fails within `timeoutMs` with QueueUnavailable
 * when the queue Redis cannot take it.
 */
export function createEnqueuer(
  queuesOrGetter: JobQueues | (() => JobQueues),
  config: Pick<Config, 'clusters' | 'queue'>,
  options: EnqueuerOptions,
): Enqueuer & JobResults {
  const timeoutMs = options.timeoutMs ?? QUEUE_CALL_TIMEOUT_MS;
  const { redis } = options;
  const unavailable =
    options.unavailable ??
    (() => (redis.status === 'ready' ? undefined : `the queue Redis is unreachable right now (${redis.status}); try again in a moment`));
  // Queues may be created only once the queue Redis has passed the start-up check.
  const queues = typeof queuesOrGetter === 'function' ? queuesOrGetter : () => queuesOrGetter;
  // Markers outlive the jobs (whose retention is bounded): an approval used once stays used.
  const approvalTtlSeconds = Math.max(7 * 24 * 3600, config.queue.keepCompletedSeconds, config.queue.keepFailedSeconds);

  const call = <T>(what: string, work: () => Promise<T>): Promise<T> => {
    const reason = unavailable();
    if (reason) return Promise.reject(new RedisMedicError(ErrorCode.QueueUnavailable, `cannot ${what}: ${reason}`));
    return withTimeout(work(), timeoutMs, what).catch((err: unknown) => {
      if (isRedisMedicError(err)) throw err;
      throw new RedisMedicError(ErrorCode.QueueUnavailable, `cannot ${what}: ${errorMessage(err)}`, { cause: err });
    });
  };

  const status = async <R>(queue: () => Queue, jobId: string, what: string): Promise<JobStatus<R> | null> =>
    call(what, async () => {
      const job = (await queue().getJob(jobId)) as Job<unknown, R> | undefined;
      if (!job) return null;
      return jobStatus<R>(job, await job.getState());
    });

  return {
    async enqueueDiagnosis(data) {
      findCluster(config as Config, data.cluster);
      const job = await call('queue the diagnosis', () => queues().diagnose.add('diagnose', data));
      return String(job.id);
    },
    async enqueueRepair(data) {
      findCluster(config as Config, data.cluster);
      const jobId = repairJobId(data.planId, data.approvalId);
      return call('queue the repair', async () => {
        // SET NX decides atomically which request owns this approval, even after BullMQ has
        // removed the job; the deterministic job id also makes BullMQ ignore a second add.
        const won = await redis.set(
          queueKeys(config.queue.prefix).repairApproval(jobId),
          JSON.stringify({ planId: data.planId, approvalId: data.approvalId, at: Date.now() }),
          'EX',
          approvalTtlSeconds,
          'NX',
        );
        if (won !== 'OK') return { jobId, created: false };
        try {
          await queues().repair.add('repair', data, { jobId });
        } catch (err) {
          // Give the approval back so a retry can queue it; should the add have landed after
          // all, the same job id makes the retry a no-op in BullMQ: still one run.
          await redis.del(queueKeys(config.queue.prefix).repairApproval(jobId)).catch(() => undefined);
          throw err;
        }
        return { jobId, created: true };
      });
    },
    async enqueueMonitorPoll(data) {
      findCluster(config as Config, data.cluster);
      const job = await call('queue the monitor poll', () => queues().monitor.add('poll', data));
      return String(job.id);
    },
    getDiagnosisResult: (jobId) => status<DiagnoseJobResult>(() => queues().diagnose, jobId, `read diagnose job ${jobId}`),
    getRepairResult: (jobId) => status<RepairJobResult>(() => queues().repair, jobId, `read repair job ${jobId}`),
    getMonitorResult: (jobId) => status<unknown>(() => queues().monitor, jobId, `read monitor job ${jobId}`),
  };
}

export function jobStatus<R>(job: Job<unknown, R>, state: JobState | 'unknown'): JobStatus<R> {
  return {
    jobId: String(job.id),
    state,
    ...(state === 'completed' ? { result: job.returnvalue } : {}),
    ...(state === 'failed' && job.failedReason ? { error: job.failedReason } : {}),
    ...(job.progress !== undefined && job.progress !== 0 ? { progress: job.progress } : {}),
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted ?? 0,
    ...(job.processedBy ? { processedBy: job.processedBy } : {}),
    ...(job.finishedOn ? { finishedAt: job.finishedOn } : {}),
  };
}

export function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return withDeadline(
    work,
    timeoutMs,
    () => new RedisMedicError(ErrorCode.QueueUnavailable, `cannot ${what}: the queue Redis did not answer within ${timeoutMs} ms`),
  );
}
