// Shared setup for the incident monitor's integration tests: a config pointing at a real test
// cluster and the fake Slack Web API, and "monitor processes" that each own their connections
// (queue Redis, the production incident publisher and its Slack client), as two `start`
// processes would. The mocha lifecycle (cluster, fake Slack, prefix, cleanups) is useHarness.
import type { Redis } from 'ioredis';
import { createAuditLog, type AuditLog } from '../../../src/audit/audit-log';
import { parseConfig } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';
import { createClusterMonitor, type ClusterMonitor, type MonitorDeps } from '../../../src/incidents/monitor';
import { INCIDENT_EVENT, RISK_EVENT } from '../../../src/slack/blocks/incident';
import { createSlackIncidentPublisher, type SlackIncidentPublisherDeps } from '../../../src/slack/incident-publisher';
import type { FakeSlack, RecordedCall } from '../../helpers/fake-slack';
import { eventually } from '../../helpers/cluster';
import { queueRedis, testLogger } from '../../helpers/harness';

export { queueRedis, testLogger, testPrefix } from '../../helpers/harness';

export const CHANNEL = 'C0INCIDENTS';
export const CLUSTER = 'payments';

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

export interface MonitorProcess {
  monitor: ClusterMonitor;
  redis: Redis;
  audit: AuditLog;
  close(): Promise<void>;
}

export interface MonitorProcessOptions extends Pick<MonitorDeps, 'now'>, Pick<SlackIncidentPublisherDeps, 'callTimeoutMs'> {
  /** The queue Redis connection to use (the caller closes it); default: one of its own. */
  redis?: Redis;
}

/**
 * One monitor "process": its own queue Redis connection and the production incident publisher
 * (with its own Slack client, at the config's slack.apiUrl). `now` is the clock of both.
 */
export function monitorProcess(config: Config, options: MonitorProcessOptions = {}): MonitorProcess {
  const logger = testLogger();
  const redis = options.redis ?? queueRedis();
  const now = options.now ? { now: options.now } : {};
  const callTimeoutMs = options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {};
  const audit = createAuditLog(redis, config.queue.prefix, logger);
  const publisher = createSlackIncidentPublisher({ config, logger, redis, ...now, ...callTimeoutMs });
  const monitor = createClusterMonitor({ config, logger, redis, publisher, audit, ...now });
  return {
    monitor,
    redis,
    audit,
    async close() {
      if (!options.redis) redis.disconnect();
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
