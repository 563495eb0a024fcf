import crypto from 'node:crypto';
import os from 'node:os';
import readline from 'node:readline/promises';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema';
import { errorMessage } from '../errors';
import type { Logger } from '../logging/logger';
import {
  approvalSigningSecret,
  approversNeeded,
  checkApproval,
  createApprovalSigner,
  readApprovalClaim,
  type ApprovalCheck,
} from '../repair/approval';
import { formatPlan, formatRepairResult } from '../repair/format-text';
import { cliLogger, configFrom, EXIT, processIO, UsageError, type CliIO } from './context';
import { ALLOW_HELP, targetCluster, timeoutsFrom, type DiagnoseOptions } from './diagnose';
import { queueKeys } from '../queue-keys';

export interface FixOptions extends DiagnoseOptions {
  plan?: string;
  dryRun?: boolean;
  yes?: boolean;
}

/** What the command needs from its surroundings; tests hand in their own. */
export interface FixDeps {
  /** Whether a person can answer a question (stdin and stderr are terminals). */
  isTTY: boolean;
  ask(question: string): Promise<string>;
  user: string;
  logger: Logger;
}

/** A claim stays readable a day past the approval expiry, as the Slack app's claims do. */
const CLAIM_KEPT_MS = 24 * 3600 * 1000;

export const REFUSE_WITHOUT_CONFIRMATION = 'refusing to run without confirmation: pass --yes or run on a terminal';

export function register(program: Command, io: CliIO = processIO): void {
  program
    .command('fix')
    .description('run one fix plan of a diagnosis on a cluster: shows it, asks, re-checks the cluster, runs it, verifies it')
    .argument('<target>', 'a configured cluster name, or seed nodes host:port[,host:port...]')
    .requiredOption('--plan <id>', 'the plan id, as listed by `redis-medic diagnose`')
    .option('--dry-run', 'show the plan and change nothing')
    .option('--yes', 'run without asking (needed when there is no terminal)')
    .option('--json', 'print the result as JSON')
    .option('--password <password>', 'node password (default: the cluster config, or $REDIS_PASSWORD)')
    .option('--user <username>', 'ACL user name')
    .option('--tls', 'connect with TLS')
    .option('--timeout <ms>', 'command timeout per node in ms (connect timeout is half of it)')
    .option('--allow <networks>', ALLOW_HELP)
    .action(async (target: string, options: FixOptions, command: Command) => {
      process.exitCode = await runFix(target, options, configFrom(command), io, processDeps());
    });
}

function processDeps(): FixDeps {
  return {
    isTTY: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    async ask(question) {
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    user: safeUser(),
    logger: cliLogger(),
  };
}

/**
 * `fix`: diagnose, show the plan, ask for a literal "yes" (or take --yes), then hand the plan id
 * to the executor, which re-checks the cluster under the repair lock before it changes anything.
 * Exit codes: 0 repaired or dry run, 1 failed or refused, 2 usage (including no confirmation).
 */
export async function runFix(target: string, options: FixOptions, config: Config, io: CliIO, deps: FixDeps): Promise<number> {
  const planId = options.plan?.trim();
  if (!planId) throw new UsageError('--plan <id> is required (the ids are listed by `redis-medic diagnose`)');
  const cluster = targetCluster(target, options, config);
  const timeouts = timeoutsFrom(options, config);
  const say = (text: string): void => (options.json ? io.stderr(text) : io.stdout(text));
  // The engine and the executor load ioredis: loaded here, not when the CLI starts.
  const { diagnoseCluster } = require('../engine') as typeof import('../engine');
  const { executePlan } = require('../repair/executor') as typeof import('../repair/executor');
  const { createAuditLog } = require('../audit/audit-log') as typeof import('../audit/audit-log');
  const { redactUrl } = require('../logging/logger') as typeof import('../logging/logger');

  const { report } = await diagnoseCluster(cluster, { timeouts, collection: config.collection });
  const plan = report.fixes.find((p) => p.id === planId);
  if (!plan) {
    const reason = `plan ${planId} not found in the current diagnosis of ${cluster.name}: the cluster changed since it was made, or the id is wrong`;
    io.stderr(`redis-medic: ${reason}`);
    say(
      report.fixes.length
        ? `Current plans:\n${report.fixes.map((p) => `  ${p.id}  ${p.title}`).join('\n')}`
        : `The current diagnosis (${report.verdict}) offers no plan.`,
    );
    if (options.json)
      io.stdout(JSON.stringify({ status: 'refused', reason, planId, steps: [], durationMs: 0, finalReport: report }, null, 2));
    return EXIT.critical;
  }

  say(formatPlan(plan, cluster.name));
  if (options.dryRun) {
    say('Dry run: nothing was changed.');
    if (options.json) io.stdout(JSON.stringify({ status: 'dry-run', plan }, null, 2));
    return EXIT.ok;
  }
  if (!plan.executable) {
    io.stderr('redis-medic: this plan is advice that redis-medic cannot carry out; do it by hand.');
    return EXIT.critical;
  }
  // The two-person rule for high-risk plans holds here too: one person at one terminal is one
  // approver, so a plan that needs more is approved in Slack, where each approver clicks.
  const needed = approversNeeded(plan, config.approvals);
  if (needed > 1) {
    io.stderr(
      `redis-medic: refusing to run plan ${plan.id}, nothing was changed: it is of risk high, and approvals.highRiskApprovers requires ${needed} distinct approvers; ` +
        `the CLI has one (cli:${deps.user}). Approve it in Slack (/redis-diagnose ${cluster.name}), where each approver clicks.`,
    );
    return EXIT.usage;
  }
  if (!options.yes) {
    if (!deps.isTTY) {
      io.stderr(`redis-medic: ${REFUSE_WITHOUT_CONFIRMATION}`);
      return EXIT.usage;
    }
    const answer = await deps.ask(`Type "yes" to run plan ${plan.id} on ${cluster.name}: `);
    if (answer.trim() !== 'yes') {
      io.stderr('redis-medic: not confirmed (the answer was not "yes"); nothing was changed.');
      return EXIT.critical;
    }
  }

  const lockRedis = await connectQueue(config, timeouts);
  if (typeof lockRedis === 'string') {
    io.stderr(
      `redis-medic: cannot reach the queue Redis at ${redactUrl(config.queue.redisUrl)}, which holds the repair lock (${lockRedis}); refusing to repair, nothing was changed.`,
    );
    return EXIT.critical;
  }
  try {
    const actor = `cli:${deps.user}`;
    const audit = createAuditLog(lockRedis, config.queue.prefix, deps.logger);
    // The same rule as the workers (issue 11 §2): a repair runs on a signed approval whose claim
    // is in the approval store. Here the person at the terminal approves, for themselves.
    const approved = await approveForCli(lockRedis, config, { cluster: cluster.name, planId: plan.id, actor });
    if (!approved.ok) {
      io.stderr(`redis-medic: refusing to repair, nothing was changed: ${approved.reason}`);
      await audit.record({
        action: 'repair.refused',
        cluster: cluster.name,
        actor,
        details: { planId: plan.id, reason: approved.code, message: approved.reason, via: 'cli' },
      });
      return EXIT.critical;
    }
    await audit.record({
      action: 'repair.approved',
      cluster: cluster.name,
      actor,
      details: { planId: plan.id, approvalId: approved.approval.id, title: plan.title, via: 'cli', signed: true },
    });
    const result = await executePlan({
      cluster,
      config: { timeouts, repair: config.repair, collection: config.collection },
      planId: plan.id,
      lockRedis,
      lockPrefix: config.queue.prefix,
      actor,
      audit,
      logger: deps.logger,
      onProgress: (p) => {
        if (p.phase !== 'step' || p.status !== 'running') io.stderr(`  ${p.message}`);
      },
    });
    io.stdout(options.json ? JSON.stringify(result, null, 2) : formatRepairResult(result));
    return result.status === 'repaired' ? EXIT.ok : EXIT.critical;
  } finally {
    lockRedis.disconnect();
  }
}

/**
 * Claim a fresh approval in the approval store, sign it, and check it as a worker would. The
 * key is APPROVAL_SECRET's when configured; without one, a key made for this run only (the
 * approval is checked in this process, and no worker can be handed it).
 */
async function approveForCli(
  redis: Redis,
  config: Config,
  input: { cluster: string; planId: string; actor: string },
): Promise<ApprovalCheck> {
  const signer = createApprovalSigner(approvalSigningSecret(config) ?? crypto.randomBytes(32));
  const id = `cli-${crypto.randomBytes(12).toString('base64url')}`;
  const claim = { user: input.actor, planId: input.planId, at: Date.now() };
  const stored = await redis.set(
    queueKeys(config.queue.prefix).approvalClaim(id),
    JSON.stringify(claim),
    'PX',
    config.approvals.expiryMs + CLAIM_KEPT_MS,
    'NX',
  );
  if (stored !== 'OK') return { ok: false, code: 'no_claim', reason: 'could not claim the approval in the queue Redis' };
  const approval = signer.sign({ id, cluster: input.cluster, planId: input.planId, approvers: [input.actor], claimedAt: claim.at });
  return checkApproval({
    approval,
    job: { approvalId: id, cluster: input.cluster, planId: input.planId },
    signer,
    readClaim: (approvalId) => readApprovalClaim(redis, config.queue.prefix, approvalId),
    now: Date.now(),
    maxAgeMs: config.approvals.expiryMs,
  });
}

/** The queue Redis, connected and answering within the timeouts, or why not. */
async function connectQueue(config: Config, timeouts: Config['timeouts']): Promise<Redis | string> {
  const { Redis } = require('ioredis') as typeof import('ioredis');
  const redis = new Redis(config.queue.redisUrl, {
    lazyConnect: true,
    connectTimeout: timeouts.connectMs,
    commandTimeout: Math.max(timeouts.commandMs, 1000),
    maxRetriesPerRequest: 1,
    // Short reconnects keep lock renewals alive across a blip; a lock lost for a whole TTL stops the repair.
    retryStrategy: (times) => (times > 20 ? null : 100),
  });
  redis.on('error', () => undefined);
  // connect() alone can wait forever on a server that accepts and never answers.
  const limitMs = timeouts.connectMs + Math.max(timeouts.commandMs, 1000);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${limitMs} ms`)), limitMs);
  });
  try {
    await Promise.race([
      (async () => {
        await redis.connect();
        await redis.ping();
      })(),
      deadline,
    ]);
    return redis;
  } catch (err) {
    redis.disconnect();
    return errorMessage(err);
  } finally {
    clearTimeout(timer);
  }
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
