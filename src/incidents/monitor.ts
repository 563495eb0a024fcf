import { randomBytes } from 'node:crypto';
import type { webApi } from '@slack/bolt';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/audit-log';
import { collectSnapshot } from '../cluster/collect-snapshot';
import { countSlots } from '../cluster/slots';
import type { ClusterSnapshot } from '../cluster/types';
import { findCluster } from '../config/clusters';
import type { ClusterConfig, Config } from '../config/schema';
import { FINDING_PRECEDENCE, type DiagnosisReport, type FindingCode, type Verdict } from '../diagnosis/types';
import { collectOptionsFor, diagnoseCluster } from '../engine';
import { ErrorCode, errorMessage, isRedisMedicError } from '../errors';
import type { MonitorJobData } from '../jobs/types';
import type { Logger } from '../logging/logger';
import type { DiagnosisPublisher } from '../slack/publisher';
import {
  assessLightProbe, causeOf, findingsSignature, fixUsed, isIncident, knownAddresses, noAnswerReport, nodeStates, riskFindings, type FixUsed,
} from './assess';
import {
  incidentHeadline, openIncidentMessage, recoveringIncidentMessage, resolvedIncidentMessage, resolvedThreadReply, riskMessage, type SlackMessage,
} from './blocks';
import { createIncidentStore, lastKnownKeysLookup, MAX_POLLS_KEPT, type IncidentRecord, type IncidentStore, type ResolvedIncident } from './store';

/**
 * One monitor poll of one cluster (light probe, full diagnosis when anything is off, incident
 * open/update/resolve). The job system's monitor worker calls it.
 */
export type MonitorPoll = (job: Job<MonitorJobData>) => Promise<unknown>;

export interface MonitorDeps {
  config: Config;
  logger: Logger;
  /** The queue Redis: incident state, node history and the risk digest live there. */
  redis: Redis;
  /**
   * Where incidents are posted. Build the WebClient with a `timeout` and few retries
   * (`{ timeout: 5000, retryConfig: { retries: 2 } }`): every call is also cut off here after
   * SLACK_CALL_MS, but a client that keeps retrying could still post late.
   */
  slack?: { client: webApi.WebClient; publisher: DiagnosisPublisher };
  audit?: AuditLog;
  now?: () => number;
}

export type IncidentAction =
  | 'opened' | 'joined' | 'updated' | 'unchanged' | 'recovering' | 'resolved'
  /** Another process changed the incident at the same moment, every retry; the next poll catches up. */
  | 'contended';

export interface PollOutcome {
  cluster: string;
  reason: MonitorJobData['reason'];
  /** The light probe's verdict, and why. */
  off: boolean;
  reasons: string[];
  /** The full diagnosis's verdict, when one ran. */
  verdict: Verdict | null;
  /** Slots no healthy master serves, when a full diagnosis ran (for the metrics). */
  uncoveredSlots?: number;
  incident: { id: string; action: IncidentAction } | null;
  risk?: 'posted' | 'not-due' | 'none';
}

/** A root-message claim older than this is taken over: its poster died or Slack failed it. */
export const ROOT_CLAIM_MS = 30_000;
/** Every Slack call of the monitor is cut off after this. */
export const SLACK_CALL_MS = 15_000;
const UPDATE_ATTEMPTS = 5;

type Effect = 'postRoot' | 'editRoot' | 'reply' | 'announceResolved';

interface Decision {
  next: IncidentRecord;
  effects: Effect[];
  resolved?: ResolvedIncident;
  findingsChanged?: boolean;
}

export interface ClusterMonitor {
  poll(data: MonitorJobData, jobId?: string): Promise<PollOutcome>;
  readonly store: IncidentStore;
}

/** The poll function the monitor worker runs for each job (scheduled tick, alert, recheck). */
export function createMonitorPoll(deps: MonitorDeps): MonitorPoll {
  const monitor = createClusterMonitor(deps);
  return (job) => monitor.poll(job.data, job.id);
}

export function createClusterMonitor(deps: MonitorDeps): ClusterMonitor {
  const now = deps.now ?? Date.now;
  const store = createIncidentStore(deps.redis, deps.config.queue.prefix);
  const log = deps.logger.child({ module: 'monitor' });
  const { resolveAfterPolls, intervalMs, riskDigestMs } = deps.config.monitor;
  // Two monitors polling the same cluster must not resolve twice as fast: healthy polls closer
  // together than half an interval count once.
  const minHealthySpacingMs = intervalMs / 2;
  // What the light probe cannot see (open slots, replication broken under healthy gossip, a
  // closed bus port) and the risks need the full diagnosis: a healthy cluster gets one this often.
  const deepCheckEveryMs = Math.max(60_000, 10 * intervalMs);

  async function poll(data: MonitorJobData, jobId?: string): Promise<PollOutcome> {
    const cluster = findCluster(deps.config, data.cluster);
    const t = now();
    const seeds = unique([...cluster.seeds, ...(await store.knownNodes(cluster.name))]);
    const light = await collectSnapshot({
      ...collectOptionsFor(cluster, deps.config), seeds, commands: 'light', lightKeyCounts: true, probeBusPort: false,
    });
    const assessment = assessLightProbe(light);
    await recordHistory(cluster.name, light, t);
    const open = await store.getIncident(cluster.name);

    // While an incident is open every poll is a full diagnosis: it resolves only when the full
    // diagnosis is clean too, not merely the light probe.
    let report = assessment.off || data.reason === 'alert' || open ? await fullDiagnosis(cluster, seeds, light) : null;
    if (!report && (await store.claimDeepCheck(cluster.name, deepCheckEveryMs))) report = await fullDiagnosis(cluster, seeds, light);
    const faulty = report !== null && isIncident(report);
    const healthy = !assessment.off && !faulty;
    const outcome: PollOutcome = {
      cluster: cluster.name, reason: data.reason, off: assessment.off, reasons: assessment.reasons, verdict: report?.verdict ?? null, incident: null,
      ...(report ? { uncoveredSlots: countSlots(report.coverage.uncovered) } : {}),
    };
    log.debug({ cluster: cluster.name, jobId, reason: data.reason, off: assessment.off, reasons: assessment.reasons, verdict: outcome.verdict }, 'monitor poll');

    if (faulty && report) outcome.incident = await onFault(cluster, report, data, t, open !== null);
    else if (open && healthy) outcome.incident = await onHealthy(cluster, t, open.record);
    else if (open) outcome.incident = { id: open.record.id, action: 'unchanged' };
    else if (healthy) outcome.risk = await checkRisks(cluster, report, t);
    return outcome;
  }

  async function recordHistory(name: string, light: ClusterSnapshot, t: number): Promise<void> {
    const known = knownAddresses(light);
    await Promise.all([
      // Nobody answered: keep the old list, it is all we know to ask next time.
      known.length > 0 ? store.setKnownNodes(name, known) : Promise.resolve(),
      store.recordNodeStates(name, nodeStates(light, t)),
    ]);
  }

  async function fullDiagnosis(cluster: ClusterConfig, seeds: string[], light: ClusterSnapshot): Promise<DiagnosisReport> {
    try {
      const lastKnown = lastKnownKeysLookup(deps.redis, deps.config.queue.prefix, cluster.name);
      return (await diagnoseCluster(cluster, deps.config, { seeds }, { lastKnown })).report;
    } catch (err) {
      // Not one node answered: that is the outage itself, described from the light probe.
      if (isRedisMedicError(err, ErrorCode.NoSeedAnswered)) return noAnswerReport(light);
      throw err;
    }
  }

  // ---- faults: open, join or update the incident -----------------------------------------

  async function onFault(cluster: ClusterConfig, report: DiagnosisReport, data: MonitorJobData, t: number, wasOpen: boolean): Promise<PollOutcome['incident']> {
    const channel = channelOf(cluster);
    const canPost = Boolean(deps.slack && channel);
    const sig = findingsSignature(report);
    const rootSig = openRootSignature(cluster.name, report);
    const cause = causeOf(report);
    const pollEntry = { at: t, healthy: false, verdict: report.verdict };

    if (!wasOpen) {
      const record: IncidentRecord = {
        id: incidentId(cluster.name, t),
        cluster: cluster.name,
        openedAt: t,
        openedBy: data.reason === 'alert' ? `alert:${data.alert?.source ?? 'unknown'}` : 'monitor',
        detectedBy: detectedBy(data),
        channel: channel ?? null,
        rootTs: null,
        rootClaimedAt: canPost ? t : null,
        findingsSignature: sig,
        rootSignature: rootSig,
        cause,
        healthyPolls: 0,
        healthySince: null,
        lastCountedAt: null,
        lastPollAt: t,
        polls: [pollEntry],
      };
      if (await store.createIncident(record)) {
        log.warn({ cluster: cluster.name, incident: record.id, cause: cause?.code }, `incident opened: ${incidentHeadline(cluster.name, report)}`);
        await audit({ action: 'incident.opened', cluster: cluster.name, actor: record.openedBy, details: { incidentId: record.id, cause: cause?.code ?? null, verdict: report.verdict, reason: data.reason } });
        if (canPost) await postRoot(record, report);
        return { id: record.id, action: 'opened' };
      }
      // Another monitor opened it a moment ago: join that incident.
    }

    const applied = await updateIncident(cluster.name, (rec) => {
      const next: IncidentRecord = {
        ...rec, healthyPolls: 0, healthySince: null, lastCountedAt: null, lastPollAt: t,
        cause: strongerCause(rec.cause, cause), polls: keep([...rec.polls, pollEntry]),
      };
      const effects: Effect[] = [];
      const findingsChanged = sig !== rec.findingsSignature;
      if (!canPost || rec.channel === null) {
        next.findingsSignature = sig;
        next.rootSignature = rootSig;
      } else if (rec.rootTs === null) {
        // The creator posts the root message and the first reply; until its ts is stored there is
        // no thread to reply in. A claim that went stale (poster died, Slack failed) is taken over.
        if (rec.rootClaimedAt === null || t - rec.rootClaimedAt > ROOT_CLAIM_MS) {
          Object.assign(next, { rootClaimedAt: t, findingsSignature: sig, rootSignature: rootSig });
          effects.push('postRoot');
        }
      } else {
        if (findingsChanged) {
          next.findingsSignature = sig;
          effects.push('reply');
        }
        if (rootSig !== rec.rootSignature) {
          next.rootSignature = rootSig;
          effects.push('editRoot');
        }
      }
      return { next, effects, findingsChanged: findingsChanged && next.findingsSignature === sig };
    });
    if (!applied) return { id: 'unknown', action: 'contended' };
    const { decision, before } = applied;
    const rec = decision.next;
    if (decision.findingsChanged) {
      await audit({ action: 'incident.updated', cluster: cluster.name, actor: 'monitor', details: { incidentId: rec.id, findings: report.findings.filter((f) => f.category === 'fault').map((f) => f.code), verdict: report.verdict } });
    }
    if (decision.effects.includes('postRoot')) await postRoot(rec, report);
    if (decision.effects.includes('editRoot') && rec.channel && rec.rootTs) await editRoot(rec.channel, rec.rootTs, openMessage(rec, report, t));
    if (decision.effects.includes('reply') && rec.channel && rec.rootTs) await replyDiagnosis(rec.channel, rec.rootTs, report);
    const action: IncidentAction = !wasOpen ? 'joined' : decision.effects.length > 0 || before.healthyPolls > 0 ? 'updated' : 'unchanged';
    return { id: rec.id, action };
  }

  /** Post the root message, store its ts, then the first diagnosis in its thread. */
  async function postRoot(record: IncidentRecord, report: DiagnosisReport): Promise<void> {
    const channel = record.channel!;
    let ts: string;
    try {
      const message = openMessage(record, report, record.lastPollAt);
      const res = await slackCall('chat.postMessage', (client) => client.chat.postMessage({ channel, ...message, unfurl_links: false }));
      if (!res.ts) throw new Error('chat.postMessage returned no ts');
      ts = res.ts;
    } catch (err) {
      log.error({ error: errorMessage(err), cluster: record.cluster, incident: record.id }, 'incident: could not post the root message; the next poll retries');
      await updateIncident(record.cluster, (rec) => (rec.id === record.id && rec.rootTs === null ? { next: { ...rec, rootClaimedAt: null }, effects: [] } : null));
      return;
    }
    const stored = await updateIncident(record.cluster, (rec) => (rec.id === record.id && rec.rootTs === null ? { next: { ...rec, rootTs: ts }, effects: [] } : null));
    if (!stored) {
      log.error({ cluster: record.cluster, incident: record.id, ts }, 'incident: the root message was posted but the incident changed meanwhile; its ts is not stored');
      return;
    }
    await replyDiagnosis(channel, ts, report);
  }

  // ---- healthy polls: recovering, then resolved ------------------------------------------

  async function onHealthy(cluster: ClusterConfig, t: number, seen: IncidentRecord): Promise<PollOutcome['incident']> {
    const canPost = Boolean(deps.slack);
    // Read the audit trail only when this poll may resolve (the repair that fixed it).
    const fix = seen.healthyPolls + 1 >= resolveAfterPolls ? await readFixUsed(cluster.name, seen.openedAt) : null;
    const applied = await updateIncident(cluster.name, (rec) => {
      const counts = rec.lastCountedAt === null || t - rec.lastCountedAt >= minHealthySpacingMs;
      const healthyPolls = rec.healthyPolls + (counts ? 1 : 0);
      const next: IncidentRecord = {
        ...rec, healthyPolls, healthySince: rec.healthySince ?? t, lastCountedAt: counts ? t : rec.lastCountedAt, lastPollAt: t,
        polls: keep([...rec.polls, { at: t, healthy: true }]),
      };
      const postingInFlight = rec.channel !== null && rec.rootTs === null && rec.rootClaimedAt !== null && t - rec.rootClaimedAt <= ROOT_CLAIM_MS;
      if (healthyPolls >= resolveAfterPolls && !postingInFlight) {
        const resolved: ResolvedIncident = { ...next, resolvedAt: t, durationMs: t - rec.openedAt, fix };
        return { next, resolved, effects: canPost && rec.channel && rec.rootTs ? ['announceResolved'] : [] };
      }
      const rootSig = 'recovering';
      if (canPost && rec.channel && rec.rootTs && rec.rootSignature !== rootSig) {
        next.rootSignature = rootSig;
        return { next, effects: ['editRoot'] };
      }
      return { next, effects: [] };
    });
    if (!applied) return { id: seen.id, action: 'contended' };
    const { decision } = applied;
    const rec = decision.next;
    if (decision.resolved) {
      const r = decision.resolved;
      log.info({ cluster: cluster.name, incident: r.id, durationMs: r.durationMs, fix: r.fix?.title ?? null }, 'incident resolved');
      await audit({ action: 'incident.resolved', cluster: cluster.name, actor: 'monitor', details: { incidentId: r.id, durationMs: r.durationMs, cause: r.cause?.code ?? null, fix: r.fix?.title ?? null } });
      if (decision.effects.includes('announceResolved') && r.channel && r.rootTs) {
        const input = { cluster: r.cluster, incidentId: r.id, openedAt: r.openedAt, resolvedAt: r.resolvedAt, cause: r.cause?.title ?? null, fix: r.fix, resolveAfterPolls };
        await editRoot(r.channel, r.rootTs, resolvedIncidentMessage(input));
        const reply = resolvedThreadReply(input);
        await slackCall('chat.postMessage', (client) => client.chat.postMessage({ channel: r.channel!, thread_ts: r.rootTs!, ...reply })).catch((err: unknown) => {
          log.error({ error: errorMessage(err), cluster: r.cluster, incident: r.id }, 'incident: could not post the resolution reply');
        });
      }
      return { id: r.id, action: 'resolved' };
    }
    if (decision.effects.includes('editRoot') && rec.channel && rec.rootTs) {
      await editRoot(rec.channel, rec.rootTs, recoveringIncidentMessage({
        cluster: rec.cluster, incidentId: rec.id, openedAt: rec.openedAt, cause: rec.cause?.title ?? null, resolveAfterPolls, since: rec.healthySince ?? t,
      }));
    }
    return { id: rec.id, action: 'recovering' };
  }

  async function readFixUsed(cluster: string, openedAt: number): Promise<FixUsed | null> {
    if (!deps.audit) return null;
    try {
      return fixUsed(await deps.audit.read({ cluster, count: 200 }), cluster, openedAt);
    } catch (err) {
      log.warn({ error: errorMessage(err), cluster }, 'incident: could not read the audit trail for the fix used');
      return null;
    }
  }

  // ---- risks: never incidents, posted at most once per digest interval --------------------

  async function checkRisks(cluster: ClusterConfig, report: DiagnosisReport | null, t: number): Promise<'posted' | 'not-due' | 'none'> {
    const channel = channelOf(cluster);
    if (!deps.slack || !channel) return 'none';
    // Only a full diagnosis shows risks; light polls leave them to the next deep check.
    if (!report) return 'not-due';
    if (await store.riskDigestPending(cluster.name)) return 'not-due';
    const risks = riskFindings(report);
    // Informational notes (e.g. the coverage setting when nothing is uncovered) ride along with
    // real risks but never make a message on their own.
    if (!risks.some((r) => r.severity !== 'info')) return 'none';
    if (!(await store.claimRiskDigest(cluster.name, riskDigestMs))) return 'not-due';
    const message = riskMessage({ cluster: cluster.name, risks, digestMs: riskDigestMs, at: t });
    try {
      await slackCall('chat.postMessage', (client) => client.chat.postMessage({ channel, ...message, unfurl_links: false }));
    } catch (err) {
      log.error({ error: errorMessage(err), cluster: cluster.name }, 'risk message could not be posted');
      return 'none';
    }
    return 'posted';
  }

  // ---- Slack, audit, state helpers --------------------------------------------------------

  function openMessage(rec: IncidentRecord, report: DiagnosisReport, updatedAt: number): SlackMessage {
    return openIncidentMessage({ cluster: rec.cluster, incidentId: rec.id, openedAt: rec.openedAt, detectedBy: rec.detectedBy, report, updatedAt });
  }

  async function editRoot(channel: string, ts: string, message: SlackMessage): Promise<void> {
    try {
      await slackCall('chat.update', (client) => client.chat.update({ channel, ts, ...message }));
    } catch (err) {
      log.error({ error: errorMessage(err), channel, ts }, 'incident: could not edit the root message');
    }
  }

  async function replyDiagnosis(channel: string, threadTs: string, report: DiagnosisReport): Promise<void> {
    if (!deps.slack) return;
    const publisher = deps.slack.publisher;
    try {
      await withDeadline(publisher.publishDiagnosis({ report, target: { channel, threadTs }, requestedBy: null, mode: 'thread-only' }), SLACK_CALL_MS, 'publishDiagnosis');
    } catch (err) {
      log.error({ error: errorMessage(err), channel, threadTs }, 'incident: could not post the diagnosis in the thread');
    }
  }

  function slackCall<T>(what: string, call: (client: webApi.WebClient) => Promise<T>): Promise<T> {
    if (!deps.slack) return Promise.reject(new Error('Slack is not configured'));
    return withDeadline(call(deps.slack.client), SLACK_CALL_MS, what);
  }

  async function audit(entry: Parameters<AuditLog['record']>[0]): Promise<void> {
    await deps.audit?.record(entry);
  }

  /**
   * Optimistic update: read, decide, compare-and-set; on a lost race read again and decide
   * again, so the decision is always made on the state that is actually replaced.
   */
  async function updateIncident(cluster: string, decide: (rec: IncidentRecord) => Decision | null): Promise<{ decision: Decision; before: IncidentRecord } | null> {
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const current = await store.getIncident(cluster);
      if (!current) return null;
      const decision = decide(current.record);
      if (!decision) return null;
      const ok = decision.resolved
        ? await store.resolveIncident(cluster, current.raw, decision.resolved)
        : await store.replaceIncident(cluster, current.raw, decision.next);
      if (ok) return { decision, before: current.record };
    }
    log.warn({ cluster }, 'incident: lost every compare-and-set race this poll; the next poll catches up');
    return null;
  }

  function channelOf(cluster: ClusterConfig): string | undefined {
    return cluster.channel ?? deps.config.slack.defaultChannel;
  }

  return { poll, store };
}

function openRootSignature(cluster: string, report: DiagnosisReport): string {
  const down = report.nodes.filter((n) => n.health === 'down').map((n) => n.id).sort();
  return JSON.stringify(['open', incidentHeadline(cluster, report), down]);
}

function strongerCause(a: IncidentRecord['cause'], b: IncidentRecord['cause']): IncidentRecord['cause'] {
  if (!a || !b) return a ?? b;
  const rank = (c: { code: string }): number => {
    const i = FINDING_PRECEDENCE.indexOf(c.code as FindingCode);
    return i < 0 ? FINDING_PRECEDENCE.length : i;
  };
  return rank(b) < rank(a) ? b : a;
}

function detectedBy(data: MonitorJobData): string {
  if (data.reason !== 'alert') return 'the monitor';
  const source = data.alert?.source ?? 'an alert';
  return data.alert?.summary ? `${source}: ${data.alert.summary}` : source;
}

/** `payments-20240115-0321-3fa9`: sortable, readable in a channel, unique enough. */
function incidentId(cluster: string, t: number): string {
  const stamp = new Date(t).toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  return `${cluster}-${stamp}-${randomBytes(2).toString('hex')}`;
}

function keep<T>(items: T[]): T[] {
  return items.slice(-MAX_POLLS_KEPT);
}

function unique(addrs: string[]): string[] {
  return [...new Set(addrs)];
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

