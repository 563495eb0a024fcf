import os from 'node:os';
import { QueueEvents, type Job, type Queue, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { createAuditLog, type AuditLog } from '../audit/audit-log';
import type { Config } from '../config/schema';
import { ErrorCode, errorMessage, isRedisMedicError, RedisMedicError } from '../errors';
import type { MonitorPoll } from '../incidents/monitor';
import type { Logger } from '../logging/logger';
import { executePlan } from '../repair/executor';
import {
  assertQueueRedisAddressIsNotMonitored,
  assertQueueRedisIsNotMonitored,
  createOutageTracker,
  createQueueConnection,
  queueRedisExposure,
  type QueueRedisTarget,
} from './connection';
import { createJobMetrics } from './metrics';
import { checkQueueRedisPersistence } from './persistence';
import { createDiagnoseProcessor, type DiagnoseProcessorDeps } from './processors/diagnose';
import { handBackOnAbort } from './processors/hand-back';
import { createMonitorProcessor } from './processors/monitor';
import { createRepairProcessor, type ExecutePlan } from './processors/repair';
import {
  createEnqueuer,
  createQueues,
  QUEUE_NAMES,
  withTimeout,
  type JobQueues,
  type JobResults,
  type JobStatus,
  type QueueName,
} from './queues';
import { syncMonitorSchedulers, type SchedulerSyncResult } from './scheduler';
import { createQueueWorker, type JobProcessor, type WorkerSettings } from './worker-factory';
import { closeWorker, QUIT_TIMEOUT_MS, quitConnection, settleWithin } from './worker-shutdown';
import type { Enqueuer, JobHooks } from './types';

export type { WorkerSettings } from './worker-factory';

export interface JobSystemDeps {
  logger: Logger;
  hooks?: JobHooks;
  monitorPoll?: MonitorPoll;
  /** Default: the audit stream in the queue Redis. */
  audit?: AuditLog;
  /** A producer connection to use instead of one made from config.queue.redisUrl; close() leaves it open. */
  connection?: Redis;
  /** Default: executePlan of src/repair/executor.ts. */
  executePlan?: ExecutePlan;
  /**
   * Every diagnosis the workers run, for diagnose and repair jobs alike (default: the real
   * pipeline on this thread; `start` runs it on its probe thread; tests and benches may wrap it).
   */
  diagnose?: DiagnoseProcessorDeps['diagnose'];
  workers?: WorkerSettings;
  /** The queue Redis turned out to be a cluster node: workers stay stopped. Default: log it. */
  onFatal?: (err: RedisMedicError) => void;
  reconnectCapMs?: number;
}

export type WorkerState = 'waiting-for-queue-redis' | 'running' | 'closed';

export interface JobSystemHealth {
  ok: boolean;
  queueRedis: 'up' | 'down';
  /** No URL here: /healthz is served to anyone who can reach the port (issue 11 §4). */
  detail: {
    error?: string;
    downForSeconds?: number;
    reconnectAttempts?: number;
    pingMs?: number;
    workers: Partial<Record<QueueName, WorkerState>>;
    schedulers?: { lastSyncAt?: string; lastError?: string };
    shuttingDown?: boolean;
  };
}

export interface JobSystem {
  queues: JobQueues;
  enqueuer: Enqueuer;
  results: JobResults;
  metrics: Registry;
  /** The queue Redis, as configured (display form has no password). */
  target: QueueRedisTarget;
  /**
   * The producer connection (fail-fast: no offline queue, 2 s command timeout), for app state
   * that lives next to the queues (approvals, incidents, audit). Closed by close() when the
   * system made it.
   */
  redis: Redis;
  /**
   * Creates the workers and returns at once; they take jobs as soon as the queue Redis is up
   * and has passed the start-up check (so a Redis outage at start-up never blocks the caller).
   */
  startWorkers(opts?: { queues?: QueueName[]; monitorPoll?: MonitorPoll }): Promise<void>;
  /** Keeps the monitor's job schedulers in line with the config, now and after every reconnect. Returns at once. */
  startSchedulers(): Promise<void>;
  /** Resolves once the queue Redis answered and passed the start-up check; rejects if it was refused or on timeout. */
  whenReady(timeoutMs?: number): Promise<void>;
  /** Resolves after the next successful scheduler sync (startSchedulers first). */
  whenSchedulersSynced(timeoutMs?: number): Promise<SchedulerSyncResult>;
  health(): Promise<JobSystemHealth>;
  /** A QueueEvents for following job progress and completion (one per queue, closed by close()). */
  queueEvents(name: QueueName): QueueEvents;
  /** Waits for a job to finish and returns its status (completed or failed). */
  waitForJob<R = unknown>(name: QueueName, jobId: string, timeoutMs: number): Promise<JobStatus<R>>;
  /**
   * Idempotent (cached promise). Stops taking jobs; running diagnoses and polls finish within the
   * shutdown grace or are handed back to the queue; running repairs are waited for; then every
   * connection is closed.
   */
  close(): Promise<void>;
}

const DEFAULT_GRACE_MS = 30_000;
const PING_TIMEOUT_MS = 1_000;
/** How often waitForJob looks at a job's state when no event has come (see there). */
const EVENT_RECHECK_MS = 500;

export function createJobSystem(config: Config, deps: JobSystemDeps): JobSystem {
  const target = assertQueueRedisAddressIsNotMonitored(config);
  const logger = deps.logger.child({ component: 'jobs' });
  const settings = deps.workers ?? {};
  const workerName = settings.name ?? `${os.hostname()}-${process.pid}`;
  const tracker = createOutageTracker(target, logger);
  const exposure = queueRedisExposure(config.queue.redisUrl);
  if (exposure.length) {
    logger.warn(
      { queueRedis: target.display, problems: exposure },
      `the queue Redis ${target.display} has ${exposure.join(' and ')}: anyone who can reach it can read plan ids and queue jobs. ` +
        'Repair jobs are signed, but give it a password or an ACL user and TLS in production (docs/security.md).',
    );
  }
  const connectionOptions = { tracker, ...(deps.reconnectCapMs ? { reconnectCapMs: deps.reconnectCapMs } : {}) };

  const ownsProducer = !deps.connection;
  const producer =
    deps.connection ??
    createQueueConnection(target, { role: 'producer', name: `redis-medic-producer-${workerName}`, ...connectionOptions });
  if (deps.connection) tracker.track(deps.connection, 'producer');
  let workerRedis: Redis | undefined;
  const workerConnection = (): Redis => {
    workerRedis ??= createQueueConnection(target, { role: 'worker', name: `redis-medic-worker-${workerName}`, ...connectionOptions });
    return workerRedis;
  };

  // Queue objects write their metadata as soon as they connect, so they are made only once the
  // queue Redis has passed the start-up check (or when a caller insists, via system.queues).
  let createdQueues: JobQueues | undefined;
  const getQueues = (): JobQueues => {
    createdQueues ??= createQueues(config, producer);
    return createdQueues;
  };
  const enqueuer = createEnqueuer(getQueues, config, {
    redis: producer,
    unavailable: () => {
      if (refused) return refused.message;
      if (closing) return 'the job system is shutting down';
      if (producer.status !== 'ready')
        return `the queue Redis is unreachable right now (${tracker.lastError ?? producer.status}); try again in a moment`;
      if (!verified) return 'the queue Redis is still being checked; try again in a moment';
      return undefined;
    },
  });
  const audit = deps.audit ?? createAuditLog(producer, config.queue.prefix, logger);
  const metrics = createJobMetrics(() => (verified ? getQueues() : undefined));
  const workers = new Map<QueueName, Worker>();
  const events = new Map<QueueName, QueueEvents>();
  let closing: Promise<void> | undefined;
  let monitorPoll = deps.monitorPoll;
  let schedulersWanted = false;
  const schedulerState: { lastSyncAt?: string; lastError?: string } = {};
  let schedulerWaiters: Array<(r: SchedulerSyncResult) => void> = [];

  // ---- start-up check, re-run on every (re)connect: only then may workers take jobs ----
  let refused: RedisMedicError | undefined;
  let verified = false;
  let resolveVerified!: () => void;
  let rejectVerified!: (err: unknown) => void;
  const verifiedPromise = new Promise<void>((resolve, reject) => {
    resolveVerified = resolve;
    rejectVerified = reject;
  });
  verifiedPromise.catch(() => undefined);

  const onConnected = async (): Promise<void> => {
    if (closing || refused) return;
    try {
      await assertQueueRedisIsNotMonitored(config, producer);
    } catch (err) {
      if (isRedisMedicError(err, ErrorCode.ConfigError)) {
        refused = err;
        logger.fatal({ queueRedis: target.display }, err.message);
        rejectVerified(err);
        // The workers were never run, so they take nothing; onFatal decides when to close.
        (deps.onFatal ?? (() => undefined))(err);
        return;
      }
      if ((err as Error | undefined)?.name !== 'ReplyError') {
        // The connection dropped again: the next 'ready' re-runs the check.
        return;
      }
      // INFO refused (ACL, renamed command): the address check has passed; say what was skipped.
      logger.warn(
        { queueRedis: target.display, error: errorMessage(err) },
        `could not run INFO cluster on the queue Redis (${errorMessage(err)}); skipping the cluster-mode check`,
      );
    }
    // At start-up and after every reconnect (a restarted queue Redis may have come back without
    // persistence, and empty): say whether what redis-medic keeps there survives a restart.
    void checkQueueRedisPersistence(producer, target.display).then((check) => {
      if (check.verdict === 'aof') logger.info({ queueRedis: target.display, persistence: check.evidence }, check.message);
      else logger.warn({ queueRedis: target.display, persistence: check.evidence }, check.message);
    });
    if (!verified) {
      verified = true;
      resolveVerified();
      runWorkers();
    }
    if (schedulersWanted) void syncSchedulers();
  };
  producer.on('ready', () => void onConnected());
  if (producer.status === 'ready') void onConnected();

  const runWorkers = (): void => {
    if (!verified || closing) return;
    const idle = [...workers].filter(([, worker]) => !worker.isRunning());
    if (idle.length)
      logger.info({ queues: idle.map(([name]) => name), worker: workerName }, `taking jobs from ${idle.map(([name]) => name).join(', ')}`);
    for (const [name, worker] of idle) {
      worker
        .run()
        .catch((err: unknown) =>
          logger.error({ queue: name, error: errorMessage(err) }, `worker for ${name} stopped: ${errorMessage(err)}`),
        );
    }
  };

  const syncSchedulers = async (): Promise<void> => {
    try {
      const result = await syncMonitorSchedulers(getQueues().monitor, config, { logger, redis: producer });
      schedulerState.lastSyncAt = new Date().toISOString();
      delete schedulerState.lastError;
      const waiters = schedulerWaiters;
      schedulerWaiters = [];
      for (const w of waiters) w(result);
    } catch (err) {
      schedulerState.lastError = errorMessage(err);
      logger.warn(
        { error: errorMessage(err) },
        `could not sync the monitor schedules (retried on the next reconnect): ${errorMessage(err)}`,
      );
    }
  };

  const processorFor = (name: QueueName): JobProcessor => {
    const base = { config, logger, audit, ...(deps.hooks ? { hooks: deps.hooks } : {}) };
    switch (name) {
      case 'diagnose':
        return handBackOnAbort(
          createDiagnoseProcessor({ ...base, ...(deps.diagnose ? { diagnose: deps.diagnose } : {}) }),
          logger,
        ) as never;
      case 'repair':
        return createRepairProcessor({
          ...base,
          redis: producer,
          executePlan: deps.executePlan ?? executePlan,
          workerName,
          ...(deps.diagnose ? { diagnose: deps.diagnose } : {}),
        }) as never;
      case 'monitor':
        return handBackOnAbort(createMonitorProcessor(monitorPoll!), logger) as never;
    }
  };

  const createWorker = (name: QueueName): Worker =>
    createQueueWorker(name, processorFor(name), { config, settings, workerName, connection: workerConnection(), logger, tracker, metrics });

  const queueRedisDown = (): boolean => tracker.state === 'down' || producer.status !== 'ready';

  const doClose = async (): Promise<void> => {
    const graceMs = settings.shutdownGraceMs ?? DEFAULT_GRACE_MS;
    const running = [...workers.keys()];
    if (running.length)
      logger.info(
        { queues: running, graceMs },
        `stopping workers (${running.join(', ')}): no new jobs; running ones get up to ${graceMs / 1000} s`,
      );
    rejectVerified(new RedisMedicError(ErrorCode.QueueUnavailable, 'the job system is shutting down'));
    const allClosed = (
      await Promise.all([...workers].map(([name, worker]) => closeWorker(name, worker, graceMs, { logger, queueRedisDown })))
    ).every(Boolean);
    await Promise.all(
      [...events.values()].map((e) =>
        settleWithin(
          e.close().catch(() => undefined),
          QUIT_TIMEOUT_MS,
        ),
      ),
    );
    if (createdQueues) await settleWithin(createdQueues.close(), QUIT_TIMEOUT_MS);
    await Promise.all([
      workerRedis && allClosed ? quitConnection(workerRedis) : undefined,
      ownsProducer ? quitConnection(producer) : undefined,
    ]);
    logger.info(allClosed ? 'job system closed' : 'job system closed, except a worker connection left to a job that could not finish');
  };

  return {
    get queues() {
      return getQueues();
    },
    enqueuer,
    results: enqueuer,
    metrics: metrics.registry,
    target,
    redis: producer,

    async startWorkers(opts = {}) {
      if (closing) throw new RedisMedicError(ErrorCode.QueueUnavailable, 'the job system is shutting down');
      if (opts.monitorPoll) monitorPoll = opts.monitorPoll;
      const names = opts.queues ?? (monitorPoll ? [...QUEUE_NAMES] : (['diagnose', 'repair'] as QueueName[]));
      if (names.includes('monitor') && !monitorPoll) {
        throw new RedisMedicError(
          ErrorCode.ConfigError,
          'the monitor queue needs the incident monitor (monitorPoll); this process was started without it',
        );
      }
      for (const name of names) if (!workers.has(name)) workers.set(name, createWorker(name));
      logger.info(
        { queues: names, worker: workerName },
        `workers for ${names.join(', ')} ${verified ? 'running' : 'waiting for the queue Redis'}`,
      );
      runWorkers();
    },

    async startSchedulers() {
      schedulersWanted = true;
      if (verified) void syncSchedulers();
    },

    async whenReady(timeoutMs = 30_000) {
      if (refused) throw refused;
      await withTimeout(verifiedPromise, timeoutMs, `reach the queue Redis ${target.display}`);
    },

    whenSchedulersSynced(timeoutMs = 30_000) {
      return withTimeout(
        new Promise<SchedulerSyncResult>((resolve) => schedulerWaiters.push(resolve)),
        timeoutMs,
        'sync the monitor schedules',
      );
    },

    async health() {
      const workerStates: Partial<Record<QueueName, WorkerState>> = {};
      for (const [name, worker] of workers)
        workerStates[name] = worker.closing ? 'closed' : worker.isRunning() ? 'running' : 'waiting-for-queue-redis';
      const detail: JobSystemHealth['detail'] = { workers: workerStates };
      if (schedulersWanted) detail.schedulers = { ...schedulerState };
      if (closing) detail.shuttingDown = true;
      let up = false;
      try {
        if (producer.status !== 'ready') throw new Error(`not connected (${producer.status})`);
        const started = Date.now();
        await withTimeout(producer.ping(), PING_TIMEOUT_MS, 'PING the queue Redis');
        detail.pingMs = Date.now() - started;
        up = true;
      } catch (err) {
        detail.error = tracker.lastError ?? errorMessage(err);
        if (tracker.downSince !== undefined) detail.downForSeconds = Math.round((Date.now() - tracker.downSince) / 100) / 10;
        detail.reconnectAttempts = tracker.reconnectAttempts;
      }
      if (refused) detail.error = refused.message;
      return { ok: up && !refused && !closing, queueRedis: up ? 'up' : 'down', detail };
    },

    queueEvents(name) {
      let queueEvents = events.get(name);
      if (!queueEvents) {
        queueEvents = new QueueEvents(name, { connection: workerConnection(), prefix: config.queue.prefix });
        queueEvents.on('error', () => undefined);
        events.set(name, queueEvents);
      }
      return queueEvents;
    },

    async waitForJob<R>(name: QueueName, jobId: string, timeoutMs: number): Promise<JobStatus<R>> {
      const queueEvents = this.queueEvents(name);
      await withTimeout(queueEvents.waitUntilReady(), timeoutMs, 'follow job events');
      const job = await withTimeout(
        (getQueues()[name] as Queue).getJob(jobId) as Promise<Job | undefined>,
        timeoutMs,
        `read ${name} job ${jobId}`,
      );
      if (!job) throw new RedisMedicError(ErrorCode.QueueUnavailable, `no ${name} job ${jobId} (never queued, or past its retention)`);
      // QueueEvents reads the event stream from '$' once its connection is ready, so a job that
      // finishes after waitUntilFinished's one state check but before that first read has no event
      // to wait for (seen: a job done in 8 ms, waited for 15 s). Each call checks the state again
      // on entry, so asking again every EVENT_RECHECK_MS closes that gap.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const remaining = deadline - Date.now();
        if (remaining <= 0)
          throw new RedisMedicError(ErrorCode.QueueUnavailable, `${name} job ${jobId} did not finish within ${timeoutMs} ms`);
        try {
          await job.waitUntilFinished(queueEvents, Math.min(remaining, EVENT_RECHECK_MS));
          break;
        } catch (err) {
          // A failed job rejects here: the status below says why.
          if (!/timed out before finishing/.test(errorMessage(err))) break;
        }
      }
      const status = await (name === 'diagnose'
        ? enqueuer.getDiagnosisResult(jobId)
        : name === 'repair'
          ? enqueuer.getRepairResult(jobId)
          : enqueuer.getMonitorResult(jobId));
      if (!status) throw new RedisMedicError(ErrorCode.QueueUnavailable, `${name} job ${jobId} finished but is no longer retained`);
      return status as JobStatus<R>;
    },

    close() {
      closing ??= doClose();
      return closing;
    },
  };
}
