import { Redis, type RedisOptions } from 'ioredis';
import { addrKey, formatHostPort } from '../cluster/address';
import type { Config } from '../config/schema';
import { ErrorCode, errorMessage, RedisMedicError } from '../errors';
import { redactUrl, type Logger } from '../logging/logger';

/** The queue Redis as configured: where BullMQ keeps queues, locks, markers and the audit stream. */
export interface QueueRedisTarget {
  url: string;
  host: string;
  port: number;
  /** The URL with its password replaced: the only form that may be logged. */
  display: string;
}

export const DEFAULT_RECONNECT_CAP_MS = 5000;
const FIRST_RECONNECT_DELAY_MS = 100;

export function parseQueueRedisUrl(url: string): QueueRedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisMedicError(
      ErrorCode.ConfigError,
      `queue.redisUrl / REDIS_URL "${redactUrl(url)}" is not a URL (e.g. redis://127.0.0.1:6379)`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RedisMedicError(
      ErrorCode.ConfigError,
      `queue.redisUrl / REDIS_URL must start with redis:// or rediss://, got "${redactUrl(url)}"`,
    );
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = parsed.port ? Number(parsed.port) : 6379;
  return { url, host, port, display: redactUrl(url) };
}

/**
 * What makes this queue Redis unsafe to rely on (issue 11 §2): whoever can write to it can
 * queue jobs and read plan ids and approvals, so off this host it needs a password or an ACL
 * user, and TLS. Empty for loopback, where only this host can reach it.
 */
export function queueRedisExposure(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (host === '' || host === 'localhost' || host === '::1' || /^127\./.test(host)) return [];
  const problems: string[] = [];
  const credentials = Boolean(parsed.password) || [...parsed.searchParams.keys()].some((k) => /^pass(word)?$/i.test(k));
  if (!credentials) problems.push('no password or ACL user');
  if (parsed.protocol !== 'rediss:') problems.push('no TLS (rediss://)');
  return problems;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): doubles from 100 ms up to the cap, so a
 * blip reconnects at once and a long outage costs one attempt every few seconds.
 */
export function reconnectDelayMs(attempt: number, capMs = DEFAULT_RECONNECT_CAP_MS): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 20));
  return Math.min(FIRST_RECONNECT_DELAY_MS * 2 ** exponent, capMs);
}

export type QueueRedisState = 'unknown' | 'up' | 'down';

/**
 * Every queue Redis connection of a process reports here, so an outage is one log line when
 * it starts and one when it ends, however many connections and reconnect attempts it takes.
 */
export interface OutageTracker {
  readonly state: QueueRedisState;
  readonly lastError: string | undefined;
  readonly downSince: number | undefined;
  /** Reconnect attempts since the current outage began (0 while up). */
  readonly reconnectAttempts: number;
  track(connection: Redis, label: string): void;
}

export function createOutageTracker(target: QueueRedisTarget, logger: Logger, now: () => number = Date.now): OutageTracker {
  const down = new Set<Redis>();
  const tracked = new Set<Redis>();
  let state: QueueRedisState = 'unknown';
  let lastError: string | undefined;
  let downSince: number | undefined;
  let reconnectAttempts = 0;

  const markDown = (connection: Redis, reason: string | undefined): void => {
    down.add(connection);
    if (reason) lastError = reason;
    if (state === 'down') return;
    state = 'down';
    downSince = now();
    logger.error(
      { queueRedis: target.display, error: lastError },
      `queue Redis ${target.display} is unreachable (${lastError ?? 'connection lost'}); reconnecting with backoff (at most every ${DEFAULT_RECONNECT_CAP_MS / 1000} s). ` +
        'Workers wait, enqueues fail fast, /healthz reports unhealthy until it is back.',
    );
  };

  const markUp = (connection: Redis): void => {
    down.delete(connection);
    if (down.size > 0) return;
    if (state === 'down') {
      const seconds = downSince === undefined ? 0 : (now() - downSince) / 1000;
      logger.warn(
        { queueRedis: target.display, outageSeconds: Number(seconds.toFixed(1)) },
        `queue Redis ${target.display} is back after ${seconds.toFixed(1)} s`,
      );
    } else if (state === 'unknown') {
      logger.info({ queueRedis: target.display }, `connected to queue Redis ${target.display}`);
    }
    state = 'up';
    downSince = undefined;
    reconnectAttempts = 0;
  };

  return {
    get state() {
      return state;
    },
    get lastError() {
      return lastError;
    },
    get downSince() {
      return downSince;
    },
    get reconnectAttempts() {
      return reconnectAttempts;
    },
    track(connection, label) {
      if (tracked.has(connection)) return;
      tracked.add(connection);
      connection.on('error', (err: Error) => {
        // Errors on a ready connection are command errors (logged by whoever sent the command).
        if (connection.status !== 'ready') markDown(connection, describeConnectionError(err));
      });
      connection.on('reconnecting', () => {
        reconnectAttempts++;
        markDown(connection, undefined);
      });
      connection.on('ready', () => markUp(connection));
      connection.on('end', () => {
        // Closed on purpose (or given up): it no longer says anything about the queue Redis.
        tracked.delete(connection);
        down.delete(connection);
        logger.debug({ connection: label }, 'queue Redis connection closed');
      });
    },
  };
}

export function describeConnectionError(err: unknown): string {
  const code = (err as { code?: string } | undefined)?.code;
  const message = errorMessage(err);
  if (code === 'ECONNREFUSED') return `connection refused (ECONNREFUSED)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host name does not resolve (${code})`;
  if (code === 'ETIMEDOUT' || /connect ETIMEDOUT|timed out/i.test(message)) return 'connect timed out';
  if (/NOAUTH|WRONGPASS|invalid password/i.test(message)) return 'authentication failed: check the password in REDIS_URL';
  return message;
}

export type QueueConnectionRole =
  /** Queue producers, result reads, markers, health PINGs: fail fast while disconnected. */
  | 'producer'
  /** BullMQ workers and QueueEvents: blocking commands, so no command timeout and retries forever. */
  | 'worker';

export interface QueueConnectionOptions {
  role: QueueConnectionRole;
  tracker?: OutageTracker;
  /** CLIENT SETNAME, so `CLIENT LIST` on the queue Redis shows who is connected. */
  name?: string;
  reconnectCapMs?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** ioredis options for a queue Redis connection of the given role (exported for tests). */
export function queueConnectionOptions(options: QueueConnectionOptions): RedisOptions {
  const cap = options.reconnectCapMs ?? DEFAULT_RECONNECT_CAP_MS;
  const common: RedisOptions = {
    connectTimeout: options.connectTimeoutMs ?? 2000,
    // Never give up: a queue Redis outage ends with a reconnect, not with a crash loop.
    retryStrategy: (times: number) => reconnectDelayMs(times, cap),
    ...(options.name ? { connectionName: options.name } : {}),
  };
  if (options.role === 'producer') {
    return {
      ...common,
      // A request handler must learn at once that the queue is unavailable, not hang.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 2000,
    };
  }
  // BullMQ requires maxRetriesPerRequest null for its blocking connections.
  return { ...common, maxRetriesPerRequest: null, enableOfflineQueue: true };
}

export function createQueueConnection(target: QueueRedisTarget | string, options: QueueConnectionOptions): Redis {
  const { url } = typeof target === 'string' ? parseQueueRedisUrl(target) : target;
  const connection = new Redis(url, queueConnectionOptions(options));
  // Without a listener ioredis prints every failed attempt; the tracker logs one line per outage.
  if (options.tracker) options.tracker.track(connection, options.name ?? options.role);
  else connection.on('error', () => undefined);
  return connection;
}

/** Every address at which a monitored cluster may be reached, normalised for comparison. */
function monitoredAddresses(config: Pick<Config, 'clusters'>): Map<string, string> {
  const out = new Map<string, string>();
  for (const cluster of config.clusters) {
    for (const addr of [...cluster.seeds, ...cluster.spareNodes]) {
      try {
        out.set(addrKey(addr), cluster.name);
      } catch {
        // The config schema already rejects malformed addresses.
      }
    }
  }
  return out;
}

/**
 * The address half of the start-up check; needs no connection, so it runs before any.
 * Throws ConfigError when REDIS_URL points at a seed or spare of a monitored cluster.
 */
export function assertQueueRedisAddressIsNotMonitored(config: Pick<Config, 'clusters' | 'queue'>): QueueRedisTarget {
  const target = parseQueueRedisUrl(config.queue.redisUrl);
  const key = addrKey(formatHostPort({ host: target.host, port: target.port }));
  const owner = monitoredAddresses(config).get(key);
  if (owner) {
    throw new RedisMedicError(
      ErrorCode.ConfigError,
      `the queue Redis (REDIS_URL ${target.display}) is a node of the monitored cluster "${owner}". ` +
        'redis-medic must keep its queues outside the clusters it repairs: point REDIS_URL at a separate, non-cluster Redis.',
    );
  }
  return target;
}

/**
 * The full start-up check: the address check, then INFO cluster on the queue Redis, which must
 * not be a cluster node at all (BullMQ's multi-key scripts would fail, and it may be one we repair).
 */
export async function assertQueueRedisIsNotMonitored(config: Pick<Config, 'clusters' | 'queue'>, connection: Redis): Promise<void> {
  const target = assertQueueRedisAddressIsNotMonitored(config);
  const info = await connection.info('cluster');
  if (/^cluster_enabled:1\s*$/m.test(info)) {
    throw new RedisMedicError(
      ErrorCode.ConfigError,
      `the queue Redis (REDIS_URL ${target.display}) runs in cluster mode (INFO cluster says cluster_enabled:1). ` +
        'redis-medic must keep its queues outside any Redis Cluster: point REDIS_URL at a separate, non-cluster Redis.',
    );
  }
}
