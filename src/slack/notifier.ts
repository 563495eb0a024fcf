import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/audit-log';
import type { Config } from '../config/schema';
import { ErrorCode, errorMessage, RedisMedicError } from '../errors';
import type { DiagnoseJobData, JobHooks, Origin, RepairJobData, RepairProgress } from '../jobs/types';
import type { Logger } from '../logging/logger';
import type { FixPlan, RepairResult, PlannedReport } from '../repair/types';
import { approversNeeded, createApprovalStore, newApprovalId, type ApprovalRecord, type ApprovalStore } from './approvals';
import {
  diagnosingMessage,
  diagnosisFailedMessage,
  findingsMessages,
  fixesMessage,
  incidentFixesPointer,
  nodeTableMessages,
  offlineFixesMessage,
  rootMessage,
} from './blocks/diagnosis';
import type { MessageBody } from './blocks/kit';
import { applyProgress, approvedSummaryMessage, outcomeMessage, runningMessage, type StepLine } from './blocks/repair';
import { approversText, escapeMrkdwn } from './blocks/text';
import { buttonKey, createButtonSigner, fixButtonValues, type ButtonSigner } from './button-value';
import { createClusterStates, lastStateOf, type ClusterStates } from './cluster-states';
import { createInflightDiagnoses } from './inflight-diagnoses';
import {
  createStandaloneFixesIndex,
  incidentFixesLink,
  openIncidentThread,
  retireStandaloneFixes,
  type StandaloneFixes,
} from './open-incident';
import { createIncidentStore } from '../incidents/store';
import { whileRateLimited } from './http-client';
import { createSlackWebClient } from './web-client';
import type { DiagnosisPublisher, PublishDiagnosisInput } from './publisher';

export interface SlackNotifierDeps {
  config: Config;
  logger: Logger;
  /** Default: a WebClient made from the config (bot token, SLACK_API_URL, timeouts). */
  client?: WebClient;
  /** The queue Redis: approval records and last states live there. */
  redis: Redis;
  audit: AuditLog;
  now?: () => number;
  /** Defaults to one keyed from the config (approvalSecret, or derived from the signing secret). */
  signer?: ButtonSigner;
  /** Minimum time between two progress edits of the same message (default 1000 ms). */
  progressIntervalMs?: number;
}

export type SlackNotifier = Required<JobHooks> & DiagnosisPublisher;

type SlackOrigin = Extract<Origin, { kind: 'slack' }>;

/** How long the answers of queued work wait out Slack's rate limits before giving up. */
const RATE_LIMIT_PATIENCE_MS = 5 * 60 * 1000;

interface RunningRepair {
  plan: Pick<FixPlan, 'title' | 'steps'>;
  steps: StepLine[];
}

/**
 * Everything the workers tell people goes through here: the diagnosis as a root message plus
 * thread replies (findings with evidence, node table, fix buttons), progress as edits of one
 * message, and the verified outcome of a repair. It is also the DiagnosisPublisher the incident
 * monitor posts with.
 */
export function createSlackNotifier(deps: SlackNotifierDeps): SlackNotifier {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'slack-notifier' });
  const client = deps.client ?? createSlackWebClient(config, deps.logger);
  const signer = deps.signer ?? createButtonSigner(buttonKey(config, log));
  const approvals: ApprovalStore = createApprovalStore(deps.redis, config.queue.prefix, config.approvals.expiryMs);
  const states: ClusterStates = createClusterStates(deps.redis, config.queue.prefix);
  const inflight = createInflightDiagnoses(deps.redis, config.queue.prefix);
  const incidents = createIncidentStore(deps.redis, config.queue.prefix);
  const standalone = createStandaloneFixesIndex(deps.redis, config.queue.prefix, config.approvals.expiryMs);
  const progressIntervalMs = deps.progressIntervalMs ?? 1000;
  const lastProgressEdit = new Map<string, number>();
  const running = new Map<string, RunningRepair>();

  // A busy channel (Slack allows about one message per second) delays an answer, never drops it.
  const post = async (channel: string, message: MessageBody, threadTs?: string): Promise<string> => {
    const result = await whileRateLimited(
      () => client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, ...(threadTs ? { thread_ts: threadTs } : {}) }),
      { maxWaitMs: RATE_LIMIT_PATIENCE_MS, logger: log, what: 'chat.postMessage' },
    );
    if (!result.ts) throw new RedisMedicError(ErrorCode.QueueUnavailable, `chat.postMessage to ${channel} returned no ts`);
    return result.ts;
  };
  const update = async (channel: string, ts: string, message: MessageBody): Promise<void> => {
    await whileRateLimited(() => client.chat.update({ channel, ts, text: message.text, blocks: message.blocks }), {
      maxWaitMs: RATE_LIMIT_PATIENCE_MS,
      logger: log,
      what: 'chat.update',
    });
  };
  const rediagnoseValue = (cluster: string): string => signer.sign({ kind: 'rediagnose', cluster });

  async function publishDiagnosis(input: PublishDiagnosisInput): Promise<{ channel: string; ts: string }> {
    const { report, target, requestedBy, mode } = input;
    const channel = target.channel;
    const request = target.messageTs ? await states.readRequest(channel, target.messageTs).catch(() => null) : null;
    const kind = request?.kind ?? 'diagnose';
    const root = rootMessage(report, { kind, requestedBy });

    let rootTs: string;
    if (mode === 'thread-only') {
      if (!target.threadTs) throw new RedisMedicError(ErrorCode.ConfigError, 'publishDiagnosis: mode thread-only needs target.threadTs');
      rootTs = await post(channel, root, target.threadTs);
    } else if (target.messageTs) {
      try {
        await update(channel, target.messageTs, root);
        rootTs = target.messageTs;
      } catch (err) {
        // The "Diagnosing..." message was deleted: post a fresh root rather than lose the answer.
        log.warn({ err: errorMessage(err), channel }, 'could not edit the root message; posting a new one');
        rootTs = await post(channel, root, target.threadTs);
      }
    } else {
      rootTs = await post(channel, root, target.threadTs);
    }
    const threadTs = target.threadTs ?? rootTs;

    for (const message of findingsMessages(report, kind === 'audit' ? 'risk' : undefined)) await post(channel, message, threadTs);
    for (const message of nodeTableMessages(report.nodes)) await post(channel, message, threadTs);

    if (report.offline) {
      await post(channel, offlineFixesMessage(report), threadTs);
    } else {
      const shown = kind === 'audit' ? auditPlans(report) : report;
      // An incident is open (it may have opened while this diagnosis ran): its fix message is the
      // one place with buttons; two threads never offer the same approvals (issue 13 §3).
      const incident = kind === 'audit' ? null : await openIncidentThread(incidents, report.cluster, log);
      if (incident) {
        await post(channel, incidentFixesPointer(report, await incidentFixesLink(client, incident)), threadTs);
      } else if (shown.fixes.length > 0) {
        const approval: ApprovalRecord = {
          id: newApprovalId(),
          cluster: report.cluster,
          requestedBy,
          channel,
          threadTs,
          rootTs: mode === 'full' ? rootTs : null,
          verdict: report.verdict,
          plans: shown.fixes,
          createdAt: now(),
        };
        // Stored before the buttons exist, so no click can arrive for an unknown approval.
        await approvals.save(approval);
        const fixesTs = await post(
          channel,
          fixesMessage(shown, fixButtonValues(signer, approval), config.approvals.expiryMs, {
            needed: (p) => approversNeeded(p, config.approvals),
          }),
          threadTs,
        );
        if (kind === 'diagnose')
          await noteStandaloneFixes(report.cluster, { approvalId: approval.id, channel, ts: fixesTs, plans: shown.fixes.length });
      } else if (kind !== 'audit') {
        await post(channel, fixesMessage(report, { approve: () => '', dryRun: () => '' }, config.approvals.expiryMs), threadTs);
      }
      await states.saveLast(report.cluster, lastStateOf(report, { channel, ts: rootTs }));
    }
    return { channel, ts: rootTs };
  }

  /** Remembered so the incident that opens later retires them; if one opened meanwhile, at once. */
  async function noteStandaloneFixes(cluster: string, fixes: StandaloneFixes): Promise<void> {
    try {
      await standalone.add(cluster, fixes);
      const incident = await openIncidentThread(incidents, cluster, log);
      if (incident?.fixes) await retireStandaloneFixes({ client, approvals, index: standalone, logger: log }, cluster, incident);
    } catch (err) {
      log.warn({ err: errorMessage(err), cluster }, 'could not remember the fix message for the next incident');
    }
  }

  function slackOrigin(origin: Origin): SlackOrigin | null {
    return origin.kind === 'slack' ? origin : null;
  }

  async function onDiagnoseProgress(data: DiagnoseJobData, message: string): Promise<void> {
    const origin = slackOrigin(data.origin);
    if (!origin?.messageTs) return;
    const key = `${origin.channel}:${origin.messageTs}`;
    const last = lastProgressEdit.get(key);
    if (last !== undefined && now() - last < progressIntervalMs) return;
    lastProgressEdit.set(key, now());
    await update(origin.channel, origin.messageTs, diagnosingMessage(data.cluster, message));
  }

  async function onDiagnosisDone(data: DiagnoseJobData, report: PlannedReport): Promise<void> {
    const origin = slackOrigin(data.origin);
    if (!origin) return; // the monitor and alerts publish through publishDiagnosis themselves
    if (origin.messageTs) lastProgressEdit.delete(`${origin.channel}:${origin.messageTs}`);
    try {
      await publishDiagnosis({
        report,
        target: {
          channel: origin.channel,
          ...(origin.messageTs ? { messageTs: origin.messageTs } : {}),
          ...(origin.threadTs ? { threadTs: origin.threadTs } : {}),
        },
        requestedBy: origin.user,
        mode: 'full',
      });
    } finally {
      await answered(data.cluster, origin);
    }
  }

  /** The diagnosis is over: the next ask of this cluster starts a new one. */
  async function answered(cluster: string, origin: SlackOrigin): Promise<void> {
    if (!origin.messageTs) return;
    const by = { channel: origin.channel, ts: origin.messageTs };
    await Promise.all([inflight.release(cluster, 'diagnose', by), inflight.release(cluster, 'audit', by)]).catch((err: unknown) =>
      log.warn({ err: errorMessage(err) }, 'could not release the in-flight diagnosis'),
    );
  }

  async function onDiagnosisFailed(data: DiagnoseJobData, error: string): Promise<void> {
    const origin = slackOrigin(data.origin);
    if (!origin) return;
    const message = diagnosisFailedMessage(data.cluster, error, rediagnoseValue(data.cluster));
    await answered(data.cluster, origin);
    if (origin.messageTs) {
      lastProgressEdit.delete(`${origin.channel}:${origin.messageTs}`);
      await update(origin.channel, origin.messageTs, message);
    } else {
      await post(origin.channel, message, origin.threadTs);
    }
  }

  async function repairContext(
    data: RepairJobData,
    result?: RepairResult,
  ): Promise<{ approval: ApprovalRecord | null; plan: Pick<FixPlan, 'title' | 'steps'> }> {
    const approval = await approvals.get(data.approvalId).catch(() => null);
    const plan = approval?.plans.find((p) => p.id === data.planId) ?? result?.plan ?? { title: `plan ${data.planId}`, steps: [] };
    return { approval, plan };
  }

  async function onRepairProgress(data: RepairJobData, progress: RepairProgress): Promise<void> {
    const origin = slackOrigin(data.origin);
    if (!origin?.messageTs) return;
    let state = running.get(data.approvalId);
    if (!state) {
      state = { plan: (await repairContext(data)).plan, steps: [] };
      running.set(data.approvalId, state);
    }
    state.steps = applyProgress(state.steps, progress);
    await update(
      origin.channel,
      origin.messageTs,
      runningMessage({
        cluster: data.cluster,
        plan: state.plan,
        approvedBy: data.approvedBy,
        steps: state.steps,
        phase: progress.message,
      }),
    );
  }

  async function onRepairDone(data: RepairJobData, result: RepairResult): Promise<void> {
    running.delete(data.approvalId);
    const origin = slackOrigin(data.origin);
    const { approval, plan } = await repairContext(data, result);
    const channel = origin?.channel ?? approval?.channel;
    if (!channel) return;
    const threadTs = origin?.threadTs ?? approval?.threadTs ?? undefined;
    if (origin?.messageTs) {
      await update(
        channel,
        origin.messageTs,
        approvedSummaryMessage({ cluster: data.cluster, plan, approvedBy: data.approvedBy, result }),
      ).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not edit the buttons message'));
    }
    if (result.finalReport && approval?.rootTs) {
      const note = `${result.status === 'repaired' ? 'repaired' : `repair ${result.status}`}: ${escapeMrkdwn(plan.title)}, approved by ${approversText(data.approvedBy)}`;
      await update(
        channel,
        approval.rootTs,
        rootMessage(result.finalReport, { kind: 'diagnose', requestedBy: approval.requestedBy, note }),
      ).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not edit the root message with the outcome'));
      await states
        .saveLast(data.cluster, lastStateOf(result.finalReport, { channel, ts: approval.rootTs }))
        .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not store the last state'));
    }
    // Last: the outcome reply is what people get notified of, once everything else says the same.
    await post(
      channel,
      outcomeMessage({ cluster: data.cluster, plan, approvedBy: data.approvedBy, result, rediagnoseValue: rediagnoseValue(data.cluster) }),
      threadTs,
    );
    // A repair cut short leaves the cluster between two states: offer the plan that completes it.
    // In an incident thread (no root of ours) the monitor does that as soon as the repair lock is free.
    if (result.code === ErrorCode.RepairInterrupted && result.finalReport && approval?.rootTs && threadTs) {
      await publishDiagnosis({ report: result.finalReport, target: { channel, threadTs }, requestedBy: null, mode: 'thread-only' }).catch(
        (err: unknown) => log.warn({ err: errorMessage(err) }, 'could not post the diagnosis after the interrupted repair'),
      );
    }
  }

  return { publishDiagnosis, onDiagnoseProgress, onDiagnosisDone, onDiagnosisFailed, onRepairProgress, onRepairDone };
}

/** For `audit <cluster>`: only the plans that answer a risk finding. */
function auditPlans(report: PlannedReport): PlannedReport {
  const risks = new Set(report.findings.filter((f) => f.category === 'risk').map((f) => f.code as string));
  return { ...report, fixes: report.fixes.filter((p) => p.fixes.some((code) => risks.has(code))) };
}
