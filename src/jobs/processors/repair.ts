import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../../audit/audit-log';
import { findCluster } from '../../config/clusters';
import type { ClusterConfig, Config } from '../../config/schema';
import { diagnoseCluster, type ClusterDiagnosis } from '../../engine';
import { ErrorCode, errorMessage } from '../../errors';
import type { Logger } from '../../logging/logger';
import {
  approvalSigningSecret,
  checkApproval,
  consumeApproval,
  createApprovalSigner,
  readApprovalClaim,
  type ApprovalSigner,
} from '../../repair/approval';
import type { ExecuteOptions } from '../../repair/executor';
import type { RepairProgress, RepairResult, PlannedReport } from '../../repair/types';
import { repairJobId } from '../queues';
import type { JobHooks, RepairJobData, RepairJobResult } from '../types';
import { describeInterruption, interruptionReason } from './interruption';
import { actorOf, callHook } from './safe-hook';
import { queueKeys } from '../../queue-keys';

/** src/repair/executor.ts `executePlan`, or a stand-in with its contract. */
export type ExecutePlanOptions = ExecuteOptions;
export type ExecutePlan = (options: ExecutePlanOptions) => Promise<RepairResult>;

export interface RepairProcessorDeps {
  config: Pick<Config, 'clusters' | 'timeouts' | 'repair' | 'queue' | 'approvals' | 'approvalSecret' | 'slack'>;
  logger: Logger;
  executePlan: ExecutePlan;
  /** Checks the approval every job carries (default: keyed from APPROVAL_SECRET in the config). */
  approvalSigner?: ApprovalSigner;
  /** Queue Redis: repair locks and the started-markers live there, shared by every worker. */
  redis: Redis;
  hooks?: JobHooks;
  audit?: AuditLog;
  /** A name for this worker, stored in the started-marker. */
  workerName?: string;
  /**
   * Every diagnosis a repair job runs: the executor's re-check and report after the steps, and the
   * report after an interrupted repair (default: diagnoseCluster; `start`: on its probe thread).
   */
  diagnose?: ClusterDiagnosis;
  now?: () => number;
}

export type RepairJob = Job<RepairJobData, RepairJobResult>;

/** How much longer than one lock TTL a repair job waits for another repair's lock. */
const LOCK_WAIT_MARGIN_MS = 1000;

/** Started-markers outlive any retention of the jobs themselves. */
const STARTED_MARKER_TTL_SECONDS = 30 * 24 * 3600;

export const INTERRUPTED_REASON =
  'interrupted: the worker running this repair stopped before it finished, so some steps may have run. ' +
  'Nothing was re-run. Re-diagnose the cluster before approving another repair.';
export const ALREADY_RAN_REASON = 'this approval was already used for a run; nothing was re-run. Re-diagnose to get a new plan.';

/**
 * job → executePlan. Never throws and is never retried: whatever happens becomes a RepairResult
 * (the job's return value) and is reported through onRepairDone. A marker set before the first
 * step makes a second run of the same job (a stalled job handed to another worker after a
 * crash) report "interrupted" instead of running steps again.
 */
export function createRepairProcessor(
  deps: RepairProcessorDeps,
): (job: RepairJob, token?: string, signal?: AbortSignal) => Promise<RepairJobResult> {
  const now = deps.now ?? Date.now;
  const secret = deps.approvalSigner ? undefined : approvalSigningSecret(deps.config);
  const signer = deps.approvalSigner ?? (secret ? createApprovalSigner(secret) : undefined);
  if (!signer)
    deps.logger.error(
      'repair worker: neither APPROVAL_SECRET nor SLACK_SIGNING_SECRET is configured, so no approval can be verified: every repair job will be refused',
    );
  return async (job, _token, _signal) => {
    const { data } = job;
    const jobId = String(job.id);
    const log = deps.logger.child({ queue: 'repair', jobId, cluster: data.cluster, planId: data.planId });
    const started = now();
    const finish = async (result: RepairResult, reportAs: RepairJobData = data): Promise<RepairResult> => {
      log.info(
        { status: result.status, reason: result.reason, steps: result.steps.length },
        `repair ${data.planId} of ${data.cluster}: ${result.status}${result.reason ? ` (${result.reason})` : ''}`,
      );
      await callHook(log, 'onRepairDone', deps.hooks?.onRepairDone && (() => deps.hooks!.onRepairDone!(reportAs, result, jobId)));
      return result;
    };
    const stopped = (status: RepairResult['status'], reason: string): RepairResult => ({
      status,
      reason,
      planId: data.planId,
      steps: [],
      durationMs: now() - started,
    });

    let cluster: ClusterConfig;
    try {
      cluster = findCluster(deps.config as Config, data.cluster);
    } catch (err) {
      return finish(stopped('refused', errorMessage(err)));
    }

    // Only what an approver signed runs (issue 11 §2): checked before the marker and the lock,
    // so a forged job neither runs nor uses up the real approval it may name.
    const check = await checkApproval({
      approval: data.approval,
      job: data,
      signer,
      readClaim: (id) => readApprovalClaim(deps.redis, deps.config.queue.prefix, id),
      now: now(),
      maxAgeMs: deps.config.approvals.expiryMs,
    }).catch((err: unknown) => ({
      ok: false as const,
      code: 'no_claim' as const,
      reason: `could not read the approval store (${errorMessage(err)})`,
    }));
    if (!check.ok) {
      const claimed = typeof data.approvedBy === 'string' ? data.approvedBy.slice(0, 100) : 'unknown';
      log.error(
        { code: check.code, approvalId: data.approvalId, claimedActor: claimed },
        `repair job refused, nothing was run: ${check.reason}`,
      );
      await deps.audit?.record({
        action: 'repair.refused',
        cluster: data.cluster,
        actor: `unverified:${claimed}`,
        details: {
          jobId,
          planId: data.planId,
          approvalId: data.approvalId,
          reason: check.code,
          message: check.reason,
          verified: false,
          claimedActor: claimed,
        },
      });
      // Told in the approval's own thread (the notifier finds it by approval id in our store),
      // never where the job's unverified origin points, and without mentioning the claimed actor.
      return finish(stopped('refused', `the repair job's approval was refused (${check.reason}); nothing was run`), {
        cluster: data.cluster,
        planId: data.planId,
        approvalId: data.approvalId,
        approvedBy: `unverified:${claimed}`,
        origin: { kind: 'cli', user: 'unverified' },
      });
    }
    const approvers = check.approval.approvers.join('+');

    // One approval, one run: used up atomically by the first job that claims it (its own retries
    // after a crash keep it). A copy of the signed job under another id, re-added by whoever can
    // write to the queue Redis, is a replay: refused, and audited under the signed approvers.
    let consumed: Awaited<ReturnType<typeof consumeApproval>>;
    try {
      consumed = await consumeApproval(deps.redis, deps.config.queue.prefix, check.approval, jobId, deps.config.approvals.expiryMs, now());
    } catch (err) {
      return finish(stopped('refused', `could not mark the approval as used in the queue Redis (${errorMessage(err)}); nothing was run`));
    }
    if (!consumed.used) {
      const reason = `this approval was already used by job ${consumed.by}; a replayed job runs nothing. Re-diagnose to get a new plan.`;
      log.error({ approvalId: data.approvalId, usedBy: consumed.by }, `repair job refused, nothing was run: ${reason}`);
      await deps.audit?.record({
        action: 'repair.refused',
        cluster: data.cluster,
        actor: `replay:${approvers}`,
        details: { jobId, planId: data.planId, approvalId: data.approvalId, reason: 'approval_used', usedBy: consumed.by, verified: true },
      });
      // Told in the approval's own thread, never where the replayed job's origin points.
      return finish(stopped('refused', reason), {
        cluster: data.cluster,
        planId: data.planId,
        approvalId: data.approvalId,
        approvedBy: approvers,
        origin: { kind: 'cli', user: 'unverified' },
      });
    }

    let firstRun: boolean;
    // Keyed on the approval, not the job id: a copy of a signed job under another id is a second run.
    const runKey = repairJobId(data.planId, data.approvalId);
    const progressKey = queueKeys(deps.config.queue.prefix).repairProgress(runKey);
    try {
      const marker = JSON.stringify({
        worker: deps.workerName ?? `pid-${process.pid}`,
        at: new Date(now()).toISOString(),
        attempt: job.attemptsStarted,
      });
      firstRun =
        (await deps.redis.set(
          queueKeys(deps.config.queue.prefix).repairStarted(runKey),
          marker,
          'EX',
          STARTED_MARKER_TTL_SECONDS,
          'NX',
        )) === 'OK';
    } catch (err) {
      return finish(
        stopped('refused', `could not record the start of the repair in the queue Redis (${errorMessage(err)}); nothing was run`),
      );
    }
    if (!firstRun) {
      const interrupted = (job.attemptsStarted ?? 0) > 1 || (job.stalledCounter ?? 0) > 0;
      if (!interrupted) {
        await deps.audit?.record({
          action: 'repair.refused',
          cluster: data.cluster,
          actor: actorOf(data.origin),
          details: { jobId, planId: data.planId, reason: 'already-ran' },
        });
        return finish(stopped('refused', ALREADY_RAN_REASON));
      }
      return finish(await reportInterruption(cluster, progressKey, started));
    }

    /**
     * A second run of a job whose worker died: nothing is run again. What the first run recorded
     * says which steps ran and which did not, and a fresh diagnosis offers the plan that
     * completes the job (the cluster is in between two states now).
     */
    async function reportInterruption(target: ClusterConfig, key: string, since: number): Promise<RepairResult> {
      let records: RepairProgress[] = [];
      try {
        records = (await deps.redis.lrange(key, 0, -1)).map((r) => JSON.parse(r) as RepairProgress);
      } catch (err) {
        log.warn({ error: errorMessage(err) }, 'could not read the repair progress record');
      }
      const fallback = data.approvedPlan?.steps.map((s) => ({ node: s.node, command: s.command }));
      const interruption = describeInterruption(records, fallback);
      const recorded = records.length > 0;
      const reason = recorded ? interruptionReason(interruption) : INTERRUPTED_REASON;
      await deps.audit?.record({
        action: 'repair.refused',
        cluster: data.cluster,
        actor: actorOf(data.origin),
        details: {
          jobId,
          planId: data.planId,
          reason: 'interrupted',
          ran: interruption.ran.length,
          unknown: interruption.unknown.length,
          notRun: interruption.notRun.length,
        },
      });
      let finalReport: PlannedReport | undefined;
      try {
        finalReport = (await (deps.diagnose ?? diagnoseCluster)(target, deps.config)).report;
      } catch (err) {
        log.warn({ error: errorMessage(err) }, 'could not diagnose the cluster after the interrupted repair');
      }
      return {
        status: 'failed',
        code: ErrorCode.RepairInterrupted,
        reason,
        planId: data.planId,
        steps: [
          ...interruption.ran,
          ...interruption.unknown.map((s) => ({
            node: s.node,
            command: s.command,
            reply: 'sent; the worker stopped before its answer was recorded (it may have run)',
            ok: false,
            ms: 0,
          })),
        ],
        // Nothing recorded (a worker of an older version, or the record could not be written): say nothing is known.
        ...(recorded && interruption.notRun.length ? { notRun: interruption.notRun } : {}),
        durationMs: now() - since,
        ...(finalReport ? { finalReport } : {}),
      };
    }

    try {
      const result = await deps.executePlan({
        cluster,
        config: deps.config,
        planId: data.planId,
        lockRedis: deps.redis,
        // The same lock as `redis-medic fix` takes: one repair per cluster, whoever starts it.
        lockPrefix: deps.config.queue.prefix,
        actor: approvers,
        ...(data.approvedPlan ? { approved: data.approvedPlan } : {}),
        // Another repair's lock is waited out for one lock TTL: a lock left by a worker that died
        // mid-repair (the plan that completes its job is approved next) lapses within it; a live
        // repair renews it throughout, and this one is then refused, saying so.
        lockWait: { timeoutMs: deps.config.repair.lockTtlMs + LOCK_WAIT_MARGIN_MS },
        logger: log,
        ...(deps.audit ? { audit: deps.audit } : {}),
        ...(deps.diagnose ? { diagnose: deps.diagnose } : {}),
        ...(deps.now ? { now: deps.now } : {}),
        onProgress: async (progress) => {
          // Recorded before anyone is told: if this worker dies, the next one says what ran.
          if (progress.phase === 'started' || progress.phase === 'step') {
            await deps.redis
              .multi()
              .rpush(progressKey, JSON.stringify(progress))
              .expire(progressKey, STARTED_MARKER_TTL_SECONDS)
              .exec()
              .catch((err: unknown) => log.warn({ error: errorMessage(err) }, 'could not record the repair progress'));
          }
          await job
            .updateProgress(progress as unknown as object)
            .catch((err: unknown) => log.debug({ error: errorMessage(err) }, 'could not store job progress'));
          await callHook(log, 'onRepairProgress', deps.hooks?.onRepairProgress && (() => deps.hooks!.onRepairProgress!(data, progress)));
        },
      });
      return finish(result);
    } catch (err) {
      log.error({ err }, `repair ${data.planId} of ${data.cluster} stopped with an error`);
      return finish(
        stopped('failed', `the repair stopped with an error: ${errorMessage(err)}. Re-diagnose before approving another repair.`),
      );
    }
  };
}
