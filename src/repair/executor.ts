import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/audit-log';
import { clusterScope } from '../cluster/scope';
import type { ClusterConfig, Config } from '../config/schema';
import { diagnoseCluster, type ClusterDiagnosis } from '../engine';
import { ErrorCode, errorMessage, isRedisMedicError } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import { basisChanges, stepChanges } from './changes';
import { runChecks } from './checks';
import { isPlanId } from './fingerprint';
import { acquireRepairLock, type LockHolder, type RepairLock } from './lock';
import { moveSlotKeys } from './move-keys';
import { NodeLinks, replyText } from './node-links';
import type { FixPlan, PlanStep, RepairProgress, RepairResult, StepResult, PlannedReport } from './types';
import { validatePlan } from './validate';
import { verifyPlan, waitForJoin, type VerifyTarget } from './verify';
import { queueKeys } from '../queue-keys';

export interface ExecuteOptions {
  cluster: ClusterConfig;
  config: Pick<Config, 'timeouts' | 'repair'> & Partial<Pick<Config, 'collection'>>;
  planId: string;
  /** ioredis connection to the queue Redis, where the per-cluster repair lock lives. */
  lockRedis: Redis;
  /** Prefix of the repair lock key (src/queue-keys.ts: repairLock). */
  lockPrefix: string;
  /** Who approved: a Slack user id, or `cli:<user>`. */
  actor: string;
  /**
   * The plan as the approver saw it, when the caller has it. Never run (the steps that run are
   * always those of the fresh diagnosis): when the fresh diagnosis no longer offers the plan, its
   * basis says which precondition stopped holding.
   */
  approved?: FixPlan;
  onProgress?: (p: RepairProgress) => void | Promise<void>;
  audit?: AuditLog;
  logger?: Logger;
  /** 'refuse' (default): a second repair of the same cluster is refused at once; or wait for the lock. */
  lockWait?: 'refuse' | { timeoutMs: number };
  /**
   * The re-diagnosis before the steps and the report after them (default: diagnoseCluster on this
   * thread). `start` passes its probe thread's: at 1000 nodes each reads 126 MB and parses a
   * million lines, which must not hold up the loop that acks Slack.
   */
  diagnose?: ClusterDiagnosis;
  now?: () => number;
}

const VERIFY_POLL_MS = 100;

/**
 * Run one approved plan, safely: take the cluster's repair lock, re-diagnose, run the plan only
 * if the fresh diagnosis still offers it (its id is the fingerprint of the state it was made
 * for), validate it, check its preconditions, run its steps (each bounded, stopping at the first
 * failure), then poll every node until the expected state holds. Never throws for a cluster or
 * lock problem: the result says what happened.
 */
export async function executePlan(options: ExecuteOptions): Promise<RepairResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const logger = (options.logger ?? silentLogger).child({ cluster: options.cluster.name, planId: options.planId });
  const run = new Run(options, logger, now, started);

  if (typeof options.planId !== 'string' || !isPlanId(options.planId)) {
    return run.refuse(
      ErrorCode.PlanNotFound,
      `plan ${String(options.planId)} not found in the current diagnosis (plan ids look like assign-1a2b3c4d5e6f)`,
    );
  }

  await run.progress({ phase: 'locking', message: `taking the repair lock of ${options.cluster.name}` });
  let lock: RepairLock;
  const lockWait = options.lockWait ?? 'refuse';
  const seconds = (ms: number): string => `${Math.max(1, Math.ceil(ms / 1000))} s`;
  const holderText = (holder: LockHolder | null): string =>
    holder ? ` (plan ${holder.planId}, approved by ${holder.actor}, since ${holder.since})` : '';
  try {
    const result = await acquireRepairLock(options.lockRedis, queueKeys(options.lockPrefix).repairLock(options.cluster.name), {
      ttlMs: options.config.repair.lockTtlMs,
      actor: options.actor,
      planId: options.planId,
      wait: lockWait,
      now,
      // A lock whose worker died (killed mid-repair) lapses within its TTL: say what is waited for.
      onHeld: (holder, expiresInMs) =>
        run.progress({
          phase: 'locking',
          message:
            `waiting for the repair lock of ${options.cluster.name}: another repair holds it${holderText(holder)}. ` +
            `If its worker died, the lock lapses within ${seconds(expiresInMs ?? options.config.repair.lockTtlMs)}`,
        }),
    });
    if (!result.acquired) {
      const running = `another repair of ${options.cluster.name} is running${holderText(result.holder)}`;
      return run.refuse(
        ErrorCode.RepairLocked,
        lockWait === 'refuse'
          ? `${running}. Nothing was run. If its worker died, its lock lapses within ${seconds(result.expiresInMs ?? options.config.repair.lockTtlMs)}: try again then`
          : `${running}: its worker kept renewing the lock for the ${seconds(lockWait.timeoutMs)} this repair waited, so it is alive. Nothing was run; re-diagnose once it has finished`,
      );
    }
    lock = result.lock;
  } catch (err) {
    return run.refuse(ErrorCode.QueueUnavailable, `cannot take the repair lock: the queue Redis did not answer (${errorMessage(err)})`);
  }
  run.timings.lockMs = now() - started;

  const links = new NodeLinks(
    {
      ...(options.cluster.username ? { username: options.cluster.username } : {}),
      ...(options.cluster.password ? { password: options.cluster.password } : {}),
      ...(options.cluster.tls ? { tls: true } : {}),
    },
    options.config.timeouts.connectMs,
    clusterScope(options.cluster),
    options.config.collection?.maxReplyBytes,
  );
  try {
    return await run.underLock(lock, links);
  } finally {
    links.close();
    await lock.release().catch((err: unknown) => logger.warn({ err }, 'could not release the repair lock; it expires by itself'));
  }
}

/** Why an approved plan is not offered any more: which of its preconditions failed, by name when known. */
function changedReason(options: ExecuteOptions, report: PlannedReport): string {
  // The plan may touch a node the configured scope excludes (a listing the re-diagnosis did not
  // follow): say so, since then what changed may be only where we are allowed to go.
  const outside = report.findings.find((f) => f.code === 'NODE_OUT_OF_SCOPE');
  const scopeNote = outside
    ? `; note: ${outside.title} (a plan that touches them is never offered: ${outside.evidence.slice(0, 3).join(' | ')})`
    : '';
  const offered =
    (report.fixes.length
      ? `the current diagnosis (${report.verdict}) offers ${report.fixes.map((p) => p.id).join(', ')}`
      : `the current diagnosis (${report.verdict}) offers no fix`) + scopeNote;
  const approved = options.approved?.id === options.planId ? options.approved : undefined;
  if (!approved?.basis) {
    return `cluster changed: plan ${options.planId} no longer matches ${options.cluster.name} (the state it was made for is gone); ${offered}`;
  }
  const changes = basisChanges(approved, report);
  const why = changes.length ? changes : stepChanges(approved, report.fixes);
  return `cluster changed since plan ${options.planId} was made: ${why.join('; ')}. Nothing was run; ${offered}`;
}

class Run {
  readonly timings = { lockMs: 0, rediagnoseMs: 0, stepsMs: 0, verifyMs: 0 };
  private plan: FixPlan | undefined;
  private lock: RepairLock | undefined;

  constructor(
    private readonly options: ExecuteOptions,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly started: number,
  ) {}

  async underLock(lock: RepairLock, links: NodeLinks): Promise<RepairResult> {
    const { options } = this;
    this.lock = lock;
    const { repair, timeouts } = options.config;
    await this.progress({ phase: 'rediagnosing', message: `re-diagnosing ${options.cluster.name} before touching it` });
    const t0 = this.now();
    let report: PlannedReport;
    try {
      report = (await (options.diagnose ?? diagnoseCluster)(options.cluster, options.config)).report;
    } catch (err) {
      // "No node answered" keeps its code; anything else (the probe thread died twice, the bot is
      // stopping) is the bot's own failure, not the cluster's: on-call must not go looking there.
      const code = isRedisMedicError(err) ? err.code : ErrorCode.DiagnosisFailed;
      return this.refuse(code, `cannot re-diagnose ${options.cluster.name}: ${errorMessage(err)}`);
    } finally {
      this.timings.rediagnoseMs = this.now() - t0;
    }

    const plan = report.fixes.find((p) => p.id === options.planId);
    if (!plan) return this.refuse(ErrorCode.ClusterChanged, changedReason(options, report), report);
    this.plan = plan;
    if (!plan.executable) {
      return this.refuse(ErrorCode.NotAllowed, `plan ${plan.id} is advice that redis-medic cannot carry out: ${plan.title}`, report);
    }
    const scope = {
      // The configured scope is the boundary; the diagnosis can only narrow it further.
      allowed: clusterScope(options.cluster),
      nodes: [...report.nodes.map((n) => n.addr).filter(Boolean), ...options.cluster.spareNodes],
      ids: report.nodes.map((n) => n.id),
    };
    const problems = validatePlan(plan, scope);
    if (problems.length) return this.refuse(ErrorCode.NotAllowed, `unsafe plan ${plan.id} refused: ${problems.join('; ')}`, report);

    const failedChecks = await runChecks(plan.checks ?? [], links, repair.stepTimeoutMs);
    if (failedChecks.length)
      return this.refuse(ErrorCode.PreconditionFailed, `precondition failed, nothing was changed: ${failedChecks.join('; ')}`, report);

    // Every step is named before the first runs: a run cut short (a worker killed) can then say
    // which steps ran and which did not, from the audit stream or the job's progress record.
    const stepList = plan.steps.map((s) => ({ node: s.node, command: s.command }));
    await this.audit('repair.started', {
      planId: plan.id,
      action: plan.action,
      title: plan.title,
      steps: plan.steps.length,
      plan: stepList.map((s) => `${s.node}> ${s.command.join(' ')}`),
    });
    await this.progress({
      phase: 'started',
      planId: plan.id,
      title: plan.title,
      steps: stepList,
      message: `running ${plan.steps.length} step(s): ${plan.title}`,
    });
    this.logger.info({ action: plan.action, steps: plan.steps.length }, `repair started: ${plan.title}`);

    const t1 = this.now();
    const steps = plan.concurrent ? await this.runConcurrently(plan.steps, links, lock) : await this.runInOrder(plan.steps, links, lock);
    this.timings.stepsMs = this.now() - t1;
    const failed = steps.find((s) => !s.ok);
    if (failed || steps.length < plan.steps.length) {
      const reason =
        lock.lost && !failed
          ? `lost the repair lock of ${options.cluster.name} after ${steps.length} of ${plan.steps.length} steps; stopped`
          : `step ${steps.indexOf(failed!) + 1} of ${plan.steps.length} failed on ${failed!.node} (${failed!.command.join(' ')}): ${failed!.reply}`;
      return this.finish(
        'failed',
        steps,
        lock.lost && !failed ? ErrorCode.RepairLockLost : ErrorCode.StepFailed,
        reason,
        undefined,
        plan.steps.slice(steps.length),
      );
    }

    await this.progress({ phase: 'verifying', message: `waiting for the expected state (at most ${repair.verifyTimeoutMs} ms)` });
    const verify = plan.verify ?? { clusterOk: true };
    const ghosts = new Set(verify.forgotten ?? []);
    const targets: VerifyTarget[] = [
      ...report.nodes.filter((n) => n.reachable === true && n.addr && !ghosts.has(n.id)).map((n) => ({ addr: n.addr, id: n.id })),
      ...(verify.extraNodes ?? []).map((addr) => ({ addr })),
    ];
    const outcome = await verifyPlan(verify, targets, {
      links,
      timeoutMs: repair.verifyTimeoutMs,
      commandTimeoutMs: timeouts.commandMs,
      pollMs: VERIFY_POLL_MS,
      now: this.now,
    });
    this.timings.verifyMs = outcome.ms;
    if (!outcome.ok) {
      return this.finish(
        'failed',
        steps,
        ErrorCode.VerificationFailed,
        `all ${steps.length} steps ran, but the expected state did not hold within ${repair.verifyTimeoutMs} ms`,
        outcome.observed,
      );
    }
    return this.finish('repaired', steps);
  }

  private async runInOrder(planSteps: PlanStep[], links: NodeLinks, lock: RepairLock): Promise<StepResult[]> {
    const results: StepResult[] = [];
    for (const [index, step] of planSteps.entries()) {
      if (lock.lost) break;
      const result = await this.runStep(step, index, planSteps.length, links);
      results.push(result);
      if (!result.ok) break;
    }
    return results;
  }

  /** Independent steps (CLUSTER FORGET everywhere) sent at once, so they land within Redis's ban window. */
  private async runConcurrently(planSteps: PlanStep[], links: NodeLinks, lock: RepairLock): Promise<StepResult[]> {
    if (lock.lost) return [];
    return Promise.all(planSteps.map((step, index) => this.runStep(step, index, planSteps.length, links)));
  }

  private async runStep(step: PlanStep, index: number, total: number, links: NodeLinks): Promise<StepResult> {
    const { repair, timeouts } = this.options.config;
    const base = { phase: 'step' as const, index, total, node: step.node, command: step.command };
    await this.progress({ ...base, status: 'running', message: `step ${index + 1}/${total}: ${step.node}> ${step.command.join(' ')}` });
    const t0 = this.now();
    let reply: string;
    let ok = true;
    if (step.moveKeys) {
      ({ ok, reply } = await this.moveKeys(step, base, links));
    } else {
      try {
        reply = replyText(await links.call(step.node, step.command, repair.stepTimeoutMs));
      } catch (err) {
        reply = errorMessage(err);
        ok = false;
      }
    }
    if (ok && step.waitFor) {
      const joined = await waitForJoin(step.waitFor, {
        links,
        timeoutMs: repair.verifyTimeoutMs,
        commandTimeoutMs: timeouts.commandMs,
        pollMs: VERIFY_POLL_MS,
        now: this.now,
      });
      reply = `${reply}; ${joined.ok ? `joined after ${joined.ms} ms` : `not joined within ${repair.verifyTimeoutMs} ms: ${joined.observed}`}`;
      ok = joined.ok;
    }
    const result: StepResult = { node: step.node, command: step.command, reply, ok, ms: this.now() - t0 };
    // The durable record first: a listener that hangs (Slack) or a worker killed meanwhile must
    // not leave a step that ran unrecorded.
    await this.audit('repair.step', {
      planId: this.options.planId,
      index,
      node: step.node,
      command: step.command.join(' '),
      ok,
      reply,
      ms: result.ms,
    });
    await this.progress({
      ...base,
      status: ok ? 'ok' : 'failed',
      reply,
      ms: result.ms,
      message: `step ${index + 1}/${total} ${ok ? 'ok' : 'FAILED'}: ${reply}`,
    });
    return result;
  }

  /** A key move: batches of MIGRATE, with progress at most once a second (Slack edits are rate limited). */
  private async moveKeys(
    step: PlanStep,
    base: { phase: 'step'; index: number; total: number; node: string; command: string[] },
    links: NodeLinks,
  ): Promise<{ ok: boolean; reply: string }> {
    const { cluster, config } = this.options;
    let lastReport = this.now();
    const lock = this.lock;
    return moveSlotKeys(step, {
      links,
      auth: { ...(cluster.username ? { username: cluster.username } : {}), ...(cluster.password ? { password: cluster.password } : {}) },
      commandTimeoutMs: config.repair.stepTimeoutMs,
      stopped: () => lock?.lost === true,
      now: this.now,
      onBatch: async (moved, batches) => {
        if (this.now() - lastReport < 1000) return;
        lastReport = this.now();
        await this.progress({
          ...base,
          status: 'running',
          message: `step ${base.index + 1}/${base.total}: moved ${moved} keys of slot ${step.moveKeys!.slot} in ${batches} batches so far`,
        });
      },
    });
  }

  async refuse(code: ErrorCode, reason: string, finalReport?: PlannedReport): Promise<RepairResult> {
    this.logger.warn({ code }, `repair refused: ${reason}`);
    await this.audit('repair.refused', { planId: this.options.planId, code, reason });
    return {
      status: 'refused',
      reason,
      code,
      planId: this.options.planId,
      ...(this.plan ? { plan: this.plan } : {}),
      steps: [],
      durationMs: this.now() - this.started,
      timings: { ...this.timings },
      ...(finalReport ? { finalReport } : {}),
    };
  }

  private async finish(
    status: 'repaired' | 'failed',
    steps: StepResult[],
    code?: ErrorCode,
    reason?: string,
    verification?: string,
    notRun: PlanStep[] = [],
  ): Promise<RepairResult> {
    // The report after the repair is what people read next: take it even when verification failed.
    let finalReport: PlannedReport | undefined;
    try {
      finalReport = (await (this.options.diagnose ?? diagnoseCluster)(this.options.cluster, this.options.config)).report;
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'could not diagnose the cluster after the repair');
    }
    const result: RepairResult = {
      status,
      ...(reason ? { reason } : {}),
      ...(code ? { code } : {}),
      planId: this.options.planId,
      ...(this.plan ? { plan: this.plan } : {}),
      steps,
      durationMs: this.now() - this.started,
      timings: { ...this.timings },
      ...(verification ? { verification } : {}),
      ...(finalReport ? { finalReport } : {}),
      ...(notRun.length ? { notRun: notRun.map((s) => ({ node: s.node, command: s.command })) } : {}),
    };
    // The incident thread's "Fix:" line is read from this entry: name the plan, not only its id.
    await this.audit('repair.finished', {
      planId: this.options.planId,
      status,
      code,
      reason,
      steps: steps.length,
      durationMs: result.durationMs,
      verdict: finalReport?.verdict,
      ...(this.plan ? { action: this.plan.action, title: this.plan.title } : {}),
      approvedBy: this.options.actor,
    });
    this.logger.info({ status, durationMs: result.durationMs }, `repair ${status}${reason ? `: ${reason}` : ''}`);
    return result;
  }

  async progress(p: RepairProgress): Promise<void> {
    if (!this.options.onProgress) return;
    try {
      await this.options.onProgress(p);
    } catch (err) {
      // A progress listener (Slack, a job) must never break a repair half way.
      this.logger.warn({ err: errorMessage(err) }, 'repair progress listener failed');
    }
  }

  private async audit(
    action: 'repair.started' | 'repair.step' | 'repair.finished' | 'repair.refused',
    details: Record<string, unknown>,
  ): Promise<void> {
    if (!this.options.audit) return;
    try {
      await this.options.audit.record({ action, cluster: this.options.cluster.name, actor: this.options.actor, details });
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'could not write the audit entry');
    }
  }
}
