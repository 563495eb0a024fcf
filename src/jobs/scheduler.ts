import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema';
import { silentLogger, type Logger } from '../logging/logger';
import { defaultJobOptions, type MonitorQueue } from './queues';
import type { MonitorJobData } from './types';
import { queueKeys } from '../queue-keys';

const SCHEDULER_PREFIX = 'monitor-';
const SYNC_LOCK_TTL_MS = 10_000;
const SYNC_LOCK_POLL_MS = 50;

/** One job scheduler per monitored cluster; cluster names cannot contain ':' (BullMQ's separator). */
export function monitorSchedulerId(cluster: string): string {
  return `${SCHEDULER_PREFIX}${cluster}`;
}

export interface SchedulerSyncResult {
  upserted: string[];
  unchanged: string[];
  removed: string[];
}

export interface SchedulerSyncOptions {
  logger?: Logger;
  /** Redis for the sync lock (default: the queue's own connection). */
  redis?: Redis;
}

/**
 * Makes the monitor queue's job schedulers match the config: one per configured cluster,
 * every config.monitor.intervalMs, data {cluster, reason:'schedule'}; schedulers of clusters no
 * longer configured are removed (all of them when the monitor is disabled).
 *
 * Several `start` processes call this at boot. Schedulers are keyed by cluster, so they cannot
 * be duplicated; on top of that a short lock serialises the syncs (concurrent upserts of one
 * scheduler have produced extra delayed jobs in BullMQ's past) and an unchanged scheduler is
 * left alone, so a restart does not reset the next poll.
 */
export async function syncMonitorSchedulers(
  queue: MonitorQueue,
  config: Pick<Config, 'clusters' | 'monitor' | 'queue'>,
  options: SchedulerSyncOptions = {},
): Promise<SchedulerSyncResult> {
  const logger = options.logger ?? silentLogger;
  const redis = options.redis ?? ((await queue.client) as unknown as Redis);
  const lockKey = queueKeys(config.queue.prefix).schedulerSync();
  const token = randomUUID();
  await acquire(redis, lockKey, token);
  try {
    return await sync(queue, config, logger);
  } finally {
    await redis
      .eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, lockKey, token)
      .catch(() => undefined);
  }
}

async function sync(
  queue: MonitorQueue,
  config: Pick<Config, 'clusters' | 'monitor' | 'queue'>,
  logger: Logger,
): Promise<SchedulerSyncResult> {
  const result: SchedulerSyncResult = { upserted: [], unchanged: [], removed: [] };
  const wanted = new Map<string, MonitorJobData>();
  if (config.monitor.enabled) {
    for (const cluster of config.clusters) wanted.set(monitorSchedulerId(cluster.name), { cluster: cluster.name, reason: 'schedule' });
  }
  const { removeOnComplete, removeOnFail } = defaultJobOptions(config).monitor;
  const every = config.monitor.intervalMs;

  const existing = await queue.getJobSchedulers(0, -1);
  for (const scheduler of existing) {
    const id = scheduler.key;
    if (!id.startsWith(SCHEDULER_PREFIX) || wanted.has(id)) continue;
    await queue.removeJobScheduler(id);
    result.removed.push(id);
  }
  for (const [id, data] of wanted) {
    const current = existing.find((s) => s.key === id);
    if (current && current.every === every && sameData(current.template?.data, data)) {
      result.unchanged.push(id);
      continue;
    }
    await queue.upsertJobScheduler(
      id,
      { every },
      {
        name: 'poll',
        data,
        opts: { ...(removeOnComplete !== undefined ? { removeOnComplete } : {}), ...(removeOnFail !== undefined ? { removeOnFail } : {}) },
      },
    );
    result.upserted.push(id);
  }
  if (result.upserted.length || result.removed.length) {
    logger.info(
      { ...result, everyMs: every },
      `monitor schedules: ${result.upserted.length} set, ${result.unchanged.length} unchanged, ${result.removed.length} removed`,
    );
  }
  return result;
}

function sameData(a: unknown, b: MonitorJobData): boolean {
  const x = (a ?? {}) as Partial<MonitorJobData>;
  return x.cluster === b.cluster && x.reason === b.reason && x.alert === undefined;
}

async function acquire(redis: Redis, key: string, token: string): Promise<void> {
  const deadline = Date.now() + SYNC_LOCK_TTL_MS + 1000;
  for (;;) {
    if ((await redis.set(key, token, 'PX', SYNC_LOCK_TTL_MS, 'NX')) === 'OK') return;
    // The holder crashed at worst: its lock expires within SYNC_LOCK_TTL_MS.
    if (Date.now() > deadline)
      throw new Error(`could not take the monitor scheduler sync lock ${key} within ${SYNC_LOCK_TTL_MS + 1000} ms`);
    await new Promise((resolve) => setTimeout(resolve, SYNC_LOCK_POLL_MS));
  }
}
