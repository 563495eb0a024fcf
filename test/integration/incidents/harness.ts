// Shared setup for the incident monitor's integration tests: a config pointing at a real test
// cluster and the fake Slack Web API, and "monitor processes" that each own their connections
// (queue Redis, WebClient, Slack notifier), as two `start` processes would.
import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import { createAuditLog, type AuditLog } from '../../../src/audit/audit-log';
import { parseConfig } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';
import { createClusterMonitor, type ClusterMonitor, type MonitorDeps } from '../../../src/incidents/monitor';
import { INCIDENT_EVENT, RISK_EVENT } from '../../../src/slack/blocks/incident';
import { createLogger, type Logger } from '../../../src/logging/logger';
import { createSlackIncidentPublisher } from '../../../src/slack/incident-publisher';
import type { FakeSlack, RecordedCall } from '../../helpers/fake-slack';
import { eventually } from '../../helpers/cluster';

export const CHANNEL = 'C0INCIDENTS';
export const CLUSTER = 'payments';

/** Set TEST_LOG_LEVEL=debug to see what the monitors do. */
export function testLogger(): Logger {
  return createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

export function testPrefix(): string {
  return `test-${randomUUID()}`;
}

export function testConfig(
  prefix: string,
  seeds: string[],
  fake: FakeSlack,
  monitor: Partial<Config['monitor']> = {},
  extra: Record<string, unknown> = {},
): Config {
  return parseConfig({
    clusters: [{ name: CLUSTER, seeds, channel: CHANNEL }],
    timeouts: { connectMs: 300, commandMs: 800 },
    queue: { prefix, redisUrl: 'redis://127.0.0.1:6379' },
    monitor: { intervalMs: 500, resolveAfterPolls: 3, ...monitor },
    slack: { botToken: 'test-bot-token', apiUrl: fake.apiUrl },
    approvalSecret: 'test-approval-secret',
    ...extra,
  });
}

export function queueRedis(): Redis {
  return new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1, commandTimeout: 2000, connectTimeout: 2000 });
}

export interface MonitorProcess {
  monitor: ClusterMonitor;
  redis: Redis;
  audit: AuditLog;
  client: WebClient;
  close(): Promise<void>;
}

/** One monitor "process": its own queue Redis connection, Slack client and notifier. */
export function monitorProcess(config: Config, fake: FakeSlack, options: Pick<MonitorDeps, 'now'> = {}): MonitorProcess {
  const logger = testLogger();
  const redis = queueRedis();
  const client = new WebClient('test-bot-token', {
    slackApiUrl: fake.apiUrl,
    timeout: 5000,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  const audit = createAuditLog(redis, config.queue.prefix, logger);
  const publisher = createSlackIncidentPublisher({ config, logger, client, redis, ...(options.now ? { now: options.now } : {}) });
  const monitor = createClusterMonitor({ config, logger, redis, publisher, audit, ...options });
  return {
    monitor,
    redis,
    audit,
    client,
    async close() {
      redis.disconnect();
    },
  };
}

// ---- what the fake Slack saw --------------------------------------------------------------

export const isIncidentRoot = (c: RecordedCall): boolean =>
  c.method === 'chat.postMessage' && !c.params.thread_ts && c.params.metadata?.event_type === INCIDENT_EVENT;
export const isRiskMessage = (c: RecordedCall): boolean => c.method === 'chat.postMessage' && c.params.metadata?.event_type === RISK_EVENT;
export const inThread =
  (ts: string) =>
  (c: RecordedCall): boolean =>
    c.method === 'chat.postMessage' && c.params.thread_ts === ts;
export const isResolvedEdit =
  (ts: string) =>
  (c: RecordedCall): boolean =>
    c.method === 'chat.update' && c.params.ts === ts && /Resolved after/.test(String(c.params.text));

export function count(fake: FakeSlack, predicate: (c: RecordedCall) => boolean): number {
  return fake.calls.filter(predicate).length;
}

/** Waits until `counter()` has grown by `n`: "n more polls happened", without sleeping blind. */
export async function moreThan(counter: () => number, n: number, what: string, timeoutMs = 15_000): Promise<void> {
  const start = counter();
  await eventually(() => counter() >= start + n, { what, timeoutMs });
}

export { deleteQueueKeys as deleteKeys } from '../../helpers/queue-redis';
