// Shared set-up for the Slack integration tests: the real app on a free port, the fake Slack
// Web API, the real queue Redis (unique prefix per harness) and the real job system's queues.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createAuditLog, type AuditLog, type AuditRecord } from '../../../src/audit/audit-log';
import { parsePaste } from '../../../src/cluster/parse-paste';
import { parseConfig } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';
import { analyseSnapshot } from '../../../src/engine';
import { createJobSystem, type JobSystem } from '../../../src/jobs/system';
import type { DiagnoseJobData, Enqueuer, JobHooks, RepairJobData } from '../../../src/jobs/types';
import { silentLogger } from '../../../src/logging/logger';
import type { FixPlan, PlannedReport } from '../../../src/repair/types';
import { createSlackApp, SLACK_EVENTS_PATH, type SlackApp } from '../../../src/slack/app';
import { eventually } from '../../helpers/cluster';
import { deleteQueueKeys } from '../../helpers/queue-redis';
import { buttonsIn, startFakeSlack, type FakeSlack, type RecordedCall } from '../../helpers/fake-slack';
import { buttonClick, interaction, send } from '../../helpers/slack-requests';

export const SIGNING_SECRET = 'test-signing-secret-0123456789';
export const APPROVAL_SECRET = 'test-approval-secret-abcdef';
export const QUEUE_REDIS_URL = 'redis://127.0.0.1:6379';

/** An Enqueuer that records what it was asked before passing it to the real one. */
export interface RecordingEnqueuer extends Enqueuer {
  diagnoses: DiagnoseJobData[];
  repairs: RepairJobData[];
  /** Make the next enqueueRepair fail as if the queue Redis were down (a string: with that message). */
  failNextRepair: boolean | string;
}

export interface HarnessOptions {
  clusters?: unknown[];
  approvals?: Record<string, unknown>;
  now?: () => number;
  /** Run the job system's workers in this process, with the Slack notifier as hooks. */
  workers?: boolean;
  /** More configuration, merged over the harness's (e.g. `{ slack: { rateLimit: ... } }`). */
  config?: Record<string, unknown>;
}

export interface Harness {
  url: string;
  baseUrl: string;
  fake: FakeSlack;
  config: Config;
  redis: Redis;
  audit: AuditLog;
  jobs: JobSystem;
  enqueuer: RecordingEnqueuer;
  slack: SlackApp;
  prefix: string;
  /** Stop the app and start a new one on the same Redis and config (a restart or another replica). */
  restart(): Promise<void>;
  auditEntries(action?: string): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export const DEFAULT_CLUSTERS = [
  { name: 'payments', seeds: ['127.0.0.1:7001', '127.0.0.1:7002'], channel: 'C0PAYMENTS' },
  { name: 'cache', seeds: ['127.0.0.1:7101'] },
];

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const prefix = `test-${crypto.randomUUID()}`;
  const fake = await startFakeSlack();
  const extra = options.config ?? {};
  const config = parseConfig({
    ...extra,
    clusters: options.clusters ?? DEFAULT_CLUSTERS,
    queue: { redisUrl: QUEUE_REDIS_URL, prefix },
    approvals: { users: ['U0APPROVER', 'U0ASKER', 'U0OTHER'], ...(options.approvals ?? {}) },
    slack: { botToken: 'test-bot-token', signingSecret: SIGNING_SECRET, apiUrl: fake.apiUrl, ...(extra.slack as object | undefined) },
    approvalSecret: APPROVAL_SECRET,
    monitor: { enabled: false },
  });
  const redis = new Redis(QUEUE_REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000 });
  const audit = createAuditLog(redis, prefix, silentLogger);

  let hooks: JobHooks = {};
  const jobs = createJobSystem(config, {
    logger: silentLogger,
    audit,
    hooks: {
      onDiagnoseProgress: (...a) => hooks.onDiagnoseProgress?.(...a) ?? Promise.resolve(),
      onDiagnosisDone: (...a) => hooks.onDiagnosisDone?.(...a) ?? Promise.resolve(),
      onDiagnosisFailed: (...a) => hooks.onDiagnosisFailed?.(...a) ?? Promise.resolve(),
      onRepairProgress: (...a) => hooks.onRepairProgress?.(...a) ?? Promise.resolve(),
      onRepairDone: (...a) => hooks.onRepairDone?.(...a) ?? Promise.resolve(),
    },
    workers: { shutdownGraceMs: 2000 },
  });
  await jobs.whenReady(5000);
  const enqueuer: RecordingEnqueuer = {
    diagnoses: [],
    repairs: [],
    enqueueDiagnosis(data) {
      this.diagnoses.push(data);
      return jobs.enqueuer.enqueueDiagnosis(data);
    },
    failNextRepair: false,
    enqueueRepair(data) {
      this.repairs.push(data);
      if (this.failNextRepair) {
        const message =
          typeof this.failNextRepair === 'string'
            ? this.failNextRepair
            : 'cannot queue the repair: the queue Redis is unreachable right now';
        this.failNextRepair = false;
        return Promise.reject(new Error(message));
      }
      return jobs.enqueuer.enqueueRepair(data);
    },
    enqueueMonitorPoll: (data) => jobs.enqueuer.enqueueMonitorPoll(data),
  };

  const make = async (): Promise<{ slack: SlackApp; url: string; baseUrl: string }> => {
    const slack = createSlackApp({ config, logger: silentLogger, enqueuer, redis, audit, ...(options.now ? { now: options.now } : {}) });
    const { port } = await slack.start(0);
    hooks = slack.notifier;
    return { slack, url: `http://127.0.0.1:${port}${SLACK_EVENTS_PATH}`, baseUrl: `http://127.0.0.1:${port}` };
  };
  let current = await make();
  if (options.workers) await jobs.startWorkers({ queues: ['diagnose', 'repair'] });

  const harness: Harness = {
    get url() {
      return current.url;
    },
    get baseUrl() {
      return current.baseUrl;
    },
    get slack() {
      return current.slack;
    },
    fake,
    config,
    redis,
    audit,
    jobs,
    enqueuer,
    prefix,
    async restart() {
      await current.slack.stop();
      current = await make();
    },
    async auditEntries(action) {
      const all = await audit.read({ count: 1000 });
      return action ? all.filter((r) => r.action === action) : all;
    },
    async close() {
      await current.slack.stop();
      await jobs.close();
      await deleteQueueKeys(prefix, redis);
      redis.disconnect();
      await fake.close();
    },
  };
  return harness;
}

/** A report of a real scenario (from a captured CLUSTER NODES fixture), renamed and with fixes. */
export function sampleReport(cluster: string, fixes: FixPlan[] = [samplePlan()]): PlannedReport {
  const text = fs.readFileSync(path.join(__dirname, '../../fixtures/cluster-nodes/master-fail-no-replica.txt'), 'utf8');
  const { report } = analyseSnapshot(parsePaste(text, cluster));
  delete report.offline;
  delete report.limitations;
  return { ...report, fixes };
}

export function samplePlan(overrides: Partial<FixPlan> = {}): FixPlan {
  return {
    id: `plan-${crypto.randomBytes(4).toString('hex')}`,
    action: 'ASSIGN_UNCOVERED_SLOTS',
    title: 'Give slots 10923-16383 to 127.0.0.1:31000',
    fixes: ['MASTER_DOWN_NO_REPLICA'],
    risk: 'high',
    dataLoss: { slots: [[10923, 16383]], lastKnownKeys: 120, text: 'The 120 keys last seen in slots 10923-16383 are lost.' },
    preconditions: ['127.0.0.1:31002 is still down'],
    steps: [
      { node: '127.0.0.1:31000', command: ['CLUSTER', 'ADDSLOTSRANGE', '10923', '16383'] },
      { node: '127.0.0.1:31000', command: ['CLUSTER', 'BUMPEPOCH'] },
    ],
    expected: 'cluster_state:ok on every node',
    executable: true,
    ...overrides,
  };
}

/** Every button in the recorded messages, newest last. */
export { buttonsIn };

/** Publishes a diagnosis with fix buttons the way a worker would, and returns the approve button. */
export async function publishWithButtons(h: Harness, options: { requestedBy?: string | null; cluster?: string; plans?: FixPlan[] } = {}) {
  const cluster = options.cluster ?? 'payments';
  const plans = options.plans ?? [samplePlan()];
  const before = h.fake.calls.length;
  const { channel, ts } = await h.slack.notifier.publishDiagnosis({
    report: sampleReport(cluster, plans),
    target: { channel: 'C0PAYMENTS' },
    requestedBy: options.requestedBy === undefined ? 'U0ASKER' : options.requestedBy,
    mode: 'full',
  });
  const posted = h.fake.calls.slice(before).filter((c) => c.method === 'chat.postMessage');
  const fixes = posted.find((c) => buttonsIn([c]).length > 0);
  if (!fixes) throw new Error('no message with buttons was posted');
  // The fake answers postMessage with a ts we can only see in its reply: find it by order.
  const buttons = buttonsIn([fixes]);
  const approve = buttons.find((b) => b.actionId.startsWith('redis_medic.approve'));
  const dryRun = buttons.find((b) => b.actionId.startsWith('redis_medic.dry_run'));
  return { channel, rootTs: ts, approve: approve!, dryRun: dryRun!, fixesCall: fixes, plans };
}

export async function waitForAudit(h: Harness, action: string, predicate: (r: AuditRecord) => boolean = () => true): Promise<AuditRecord> {
  let found: AuditRecord | undefined;
  await eventually(
    async () => {
      found = (await h.auditEntries(action)).find(predicate);
      return found !== undefined;
    },
    { what: `an audit entry ${action}`, timeoutMs: 5000 },
  );
  return found!;
}

/** Response_url posts the app made (ephemeral answers), as recorded by the fake. */
export function responses(h: Harness): RecordedCall[] {
  return h.fake.calls.filter((c) => c.method.startsWith('response_url'));
}

/**
 * A signed click on a posted button, as Slack sends it to the harness's app (by U0APPROVER unless
 * told); the app's answers to it go to the fake's response_url `response/<answersTo>`.
 */
export function clickIn(
  h: Pick<Harness, 'url' | 'fake'>,
  button: { actionId: string; value: string },
  message: { channel: string; ts: string; threadTs?: string },
  answersTo: string,
  userId = 'U0APPROVER',
): Promise<{ status: number; body: string }> {
  const { actionId, value } = button;
  const threadTs = message.threadTs ? { threadTs: message.threadTs } : {};
  const responseUrl = `${h.fake.responseUrlBase}${answersTo}`;
  return send(
    interaction(
      h.url,
      SIGNING_SECRET,
      buttonClick({ actionId, value, userId, channel: message.channel, messageTs: message.ts, ...threadTs, responseUrl }),
    ),
  );
}
