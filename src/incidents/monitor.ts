import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/audit-log';
import { countSlots } from '../cluster/slots';
import { findCluster } from '../config/clusters';
import type { ClusterConfig, Config } from '../config/schema';
import { FINDING_PRECEDENCE, type FindingCode, type Verdict } from '../diagnosis/types';
import { ErrorCode, errorMessage, isRedisMedicError } from '../errors';
import type { AlertNote, MonitorJobData } from '../jobs/types';
import type { Logger } from '../logging/logger';
import { causeOf, findingsSignature, fixUsed, isIncident, noAnswerReport, riskFindings, type FixUsed } from './assess';
import type { LightProbeResult } from './probe-tasks';
import { diagnoseOnProbeThread, lightProbe } from './probe-thread';
import { isDeliveryError, type IncidentPublisher, type IncidentRef, type RootView, type ThreadNote } from './incident-publisher';
import {
  createIncidentStore,
  lastKnownKeysLookup,
  MAX_POLLS_KEPT,
  newIncidentRecord,
  type IncidentRecord,
  type IncidentStore,
  type PendingNote,
  type ResolvedIncident,
} from './store';
import { createSilenceStore, isActive, maintenanceSilence, type Silence } from './silences';
import { nextThreadStep, plansOf, rootSignature, type ThreadContext, type ThreadStep } from './thread';
import type { PlannedReport } from '../repair/types';

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
   * Where incidents are told (src/slack/incident-publisher.ts). Absent: incidents are kept in the
   * queue Redis and the logs only.
   */
  publisher?: IncidentPublisher;
  audit?: AuditLog;
  now?: () => number;
}

export type IncidentAction =
  | 'opened'
  | 'joined'
  | 'reopened'
  | 'updated'
  | 'unchanged'
  | 'recovering'
  | 'resolved'
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
  incident: { id: string; action: IncidentAction; detail?: IncidentDetail } | null;
  risk?: 'posted' | 'not-due' | 'none';
  /** What the Slack thread got this poll ('stalled': a step failed; the next poll retries it). */
  thread?: { steps: string[]; stalled?: string };
  /** The cluster is silenced: polled and recorded, but no incident decision was made. */
  silenced?: { until: number; by: string; reason: string | null; source: Silence['source'] };
}

/**
 * What a pager needs of an incident that was opened, reopened or resolved this poll (read after
 * the thread was delivered, so `rootTs` is the thread when its root landed).
 */
export interface IncidentDetail {
  cluster: string;
  openedAt: number;
  resolvedAt: number | null;
  cause: { code: string; title: string } | null;
  /** The verdict of the poll that opened it (the last faulty one, for a resolution). */
  verdict: string | null;
  flaps: number;
  channel: string | null;
  rootTs: string | null;
}

/** The decisions a pager acts on. */
const DETAILED: ReadonlySet<IncidentAction> = new Set(['opened', 'reopened', 'resolved']);

/**
 * A process delivering an incident's thread holds it this long without progress; then another
 * may take over (looking up what landed first). Longer than one Slack call can take.
 */
export const DELIVERY_CLAIM_MS = 30_000;
/** Every Slack call of the monitor is cut off after this (the adapter's own timeout is shorter). */
export const SLACK_CALL_MS = 15_000;
const UPDATE_ATTEMPTS = 5;
/** At most this many thread steps per poll: a cluster changing every poll cannot starve the others. */
const MAX_STEPS_PER_POLL = 12;
/** Distinct alerts one incident notes in its thread; later ones still trigger polls, unnoted. */
const MAX_ALERTS_PER_INCIDENT = 100;

interface Decision {
  next: IncidentRecord;
  resolved?: ResolvedIncident;
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
  const silences = createSilenceStore(deps.redis, deps.config.queue.prefix);
  const log = deps.logger.child({ module: 'monitor' });
  const { resolveAfterPolls, intervalMs, riskDigestMs, reopenWindowMs } = deps.config.monitor;
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
    // On the probe thread: a big cluster's replies are read and parsed there, not on this loop.
    const light = await lightProbe({ cluster, config: deps.config, seeds, at: t }, log);
    const { assessment } = light;
    await recordHistory(cluster.name, light);
    const open = await store.getIncident(cluster.name);
    const silence = await silenceOf(cluster, t);

    // While an incident is open every poll is a full diagnosis: it resolves only when the full
    // diagnosis is clean too, not merely the light probe.
    let report = assessment.off || data.reason === 'alert' || open ? await fullDiagnosis(cluster, seeds, light) : null;
    if (!report && (await store.claimDeepCheck(cluster.name, deepCheckEveryMs))) report = await fullDiagnosis(cluster, seeds, light);
    const faulty = report !== null && isIncident(report);
    const healthy = !assessment.off && !faulty;
    const outcome: PollOutcome = {
      cluster: cluster.name,
      reason: data.reason,
      off: assessment.off,
      reasons: assessment.reasons,
      verdict: report?.verdict ?? null,
      incident: null,
      ...(report ? { uncoveredSlots: countSlots(report.coverage.uncovered) } : {}),
    };
    log.debug(
      { cluster: cluster.name, jobId, reason: data.reason, off: assessment.off, reasons: assessment.reasons, verdict: outcome.verdict },
      'monitor poll',
    );

    if (silence.active) {
      // Silenced: polled, history and state recorded, but nobody is told anything.
      const { until, by, reason, source } = silence.active;
      outcome.silenced = { until, by, reason, source };
      log.debug({ cluster: cluster.name, until: new Date(until).toISOString(), faulty }, 'monitor poll: silenced');
      return outcome;
    }
    if (faulty && report) outcome.incident = await onFault(cluster, report, data, t, open?.record ?? null);
    else if (open && healthy) outcome.incident = await onHealthy(cluster, t, open.record);
    else if (open) outcome.incident = { id: open.record.id, action: 'unchanged' };
    else if (healthy) outcome.risk = await checkRisks(cluster, report, t);
    if (data.alerts?.length && outcome.incident && outcome.incident.action !== 'contended') await noteAlerts(cluster.name, data.alerts, t);
    if (silence.ended) await noteEndedSilence(cluster.name, silence.ended, outcome.incident);
    if (outcome.incident && outcome.incident.action !== 'contended') {
      outcome.thread = await deliverThread(cluster.name, { report: faulty ? report : null, now: t, resolveAfterPolls });
    }
    if (outcome.incident && DETAILED.has(outcome.incident.action)) {
      const detail = await incidentDetail(cluster.name, outcome.incident.id);
      if (detail) outcome.incident.detail = detail;
    }
    return outcome;
  }

  /** The incident as recorded now: still open, or (its resolution delivered) the newest resolved one. */
  async function incidentDetail(name: string, id: string): Promise<IncidentDetail | null> {
    const open = await store.getIncident(name);
    const rec = open?.record.id === id ? open.record : (await store.listResolved(name, 1)).find((r) => r.id === id);
    if (!rec) return null;
    const verdict = [...rec.polls].reverse().find((p) => !p.healthy)?.verdict ?? null;
    return {
      cluster: name,
      openedAt: rec.openedAt,
      resolvedAt: rec.resolvedAt,
      cause: rec.cause,
      verdict,
      flaps: rec.flaps,
      channel: rec.channel,
      rootTs: rec.rootTs,
    };
  }

  /**
   * The silence in force (a command's, or a configured maintenance window, mirrored into the
   * queue Redis so its end is noticed like a command's), or the one that ended and was not yet
   * reported. Decided by this monitor's clock.
   */
  async function silenceOf(
    cluster: ClusterConfig,
    t: number,
  ): Promise<{ active: Silence | null; ended: { silence: Silence; raw: string } | null }> {
    const stored = await silences.get(cluster.name);
    const window = maintenanceSilence(cluster, t);
    if (window && !(stored && isActive(stored.silence, t) && stored.silence.until >= window.until)) {
      await silences.set(window, t);
      return { active: window, ended: null };
    }
    if (!stored) return { active: null, ended: null };
    if (isActive(stored.silence, t)) return { active: stored.silence, ended: null };
    return { active: null, ended: stored.silence.noted || stored.silence.until > t ? null : stored };
  }

  /** A silence is over: the incident present now (if any) shows until when it was silenced; reported once. */
  async function noteEndedSilence(
    name: string,
    ended: { silence: Silence; raw: string },
    incident: PollOutcome['incident'],
  ): Promise<void> {
    if (incident?.action === 'contended') return; // the next poll tries again
    const { until, by, reason, source } = ended.silence;
    if (incident) {
      await updateIncident(name, (rec) =>
        rec.silenced?.until === until ? null : { next: { ...rec, silenced: { until, by, reason, source } } },
      );
      log.info(
        { cluster: name, incident: incident.id, until: new Date(until).toISOString() },
        'silence over with an incident present: its thread says until when it was silenced',
      );
    }
    await silences.markNoted(name, ended.raw);
  }

  async function recordHistory(name: string, { known, states }: LightProbeResult): Promise<void> {
    await Promise.all([
      // Nobody answered: keep the old list, it is all we know to ask next time.
      known.length > 0 ? store.setKnownNodes(name, known) : Promise.resolve(),
      store.recordNodeStates(name, states),
    ]);
  }

  async function fullDiagnosis(cluster: ClusterConfig, seeds: string[], light: LightProbeResult): Promise<PlannedReport> {
    try {
      const lastKnown = lastKnownKeysLookup(deps.redis, deps.config.queue.prefix, cluster.name);
      return (await diagnoseOnProbeThread({ cluster, config: deps.config, seeds }, lastKnown, log)).report;
    } catch (err) {
      // Not one node answered: that is the outage itself, described from the light probe.
      if (isRedisMedicError(err, ErrorCode.NoSeedAnswered)) return noAnswerReport(light.snapshot);
      throw err;
    }
  }

  // ---- faults: open, reopen, join or update the incident -----------------------------------

  async function onFault(
    cluster: ClusterConfig,
    report: PlannedReport,
    data: MonitorJobData,
    t: number,
    seen: IncidentRecord | null,
  ): Promise<PollOutcome['incident']> {
    // Without Slack the incident lives in the queue Redis, the logs and the audit stream only.
    const channel = deps.publisher ? channelOf(cluster) : undefined;
    const cause = causeOf(report);
    const pollEntry = { at: t, healthy: false, verdict: report.verdict };

    if (!seen) {
      const last = (await store.listResolved(cluster.name, 1))[0];
      const reopen = last && last.channel === (channel ?? null) && last.rootTs !== null && t - last.resolvedAt <= reopenWindowMs;
      const record: IncidentRecord = reopen
        ? reopened(last, t, pollEntry)
        : newIncidentRecord({
            id: incidentId(cluster.name, t),
            cluster: cluster.name,
            openedAt: t,
            openedBy: data.reason === 'alert' ? `alert:${data.alert?.source ?? 'unknown'}` : 'monitor',
            detectedBy: detectedBy(data),
            channel: channel ?? null,
            rootTs: null,
            // The queue Redis may have lost an open incident (restarted without persistence): its
            // root message in the channel says so, and is adopted rather than doubled.
            adoptCheck: Boolean(deps.publisher && channel),
            findingsSignature: '',
            rootSignature: '',
            cause,
            healthyPolls: 0,
            healthySince: null,
            lastCountedAt: null,
            lastPollAt: t,
            polls: [pollEntry],
          });
      if (await store.createIncident(record)) {
        if (reopen) {
          log.warn(
            { cluster: cluster.name, incident: record.id, flaps: record.flaps },
            `incident reopened: ${cluster.name} broke again ${Math.round((t - last.resolvedAt) / 1000)} s after it was resolved`,
          );
          await audit({
            action: 'incident.reopened',
            cluster: cluster.name,
            actor: 'monitor',
            details: {
              incidentId: record.id,
              flaps: record.flaps,
              resolvedAt: new Date(last.resolvedAt).toISOString(),
              cause: cause?.code ?? null,
            },
          });
          return { id: record.id, action: 'reopened' };
        }
        log.warn(
          { cluster: cluster.name, incident: record.id, cause: cause?.code },
          `incident opened: ${cluster.name} is ${report.verdict}: ${cause?.title ?? 'cause not identified'}`,
        );
        await audit({
          action: 'incident.opened',
          cluster: cluster.name,
          actor: record.openedBy,
          details: { incidentId: record.id, cause: cause?.code ?? null, verdict: report.verdict, reason: data.reason },
        });
        return { id: record.id, action: 'opened' };
      }
      // Another monitor opened it a moment ago: join that incident.
    }

    const sig = findingsSignature(report);
    let flapped = false;
    const applied = await updateIncident(cluster.name, (rec) => {
      const next: IncidentRecord = {
        ...rec,
        healthyPolls: 0,
        healthySince: null,
        lastCountedAt: null,
        lastPollAt: t,
        cause: strongerCause(rec.cause, cause),
        polls: keep([...rec.polls, pollEntry]),
      };
      // Resolved but not yet announced (or archived): broken again, so the same incident goes on.
      flapped = rec.resolvedAt !== null;
      if (flapped) Object.assign(next, reopenedFields(rec, rec.resolvedAt!, t));
      return { next };
    });
    if (!applied) return { id: seen?.id ?? 'unknown', action: 'contended' };
    const { before, decision } = applied;
    const rec = decision.next;
    if (flapped) {
      await audit({
        action: 'incident.reopened',
        cluster: cluster.name,
        actor: 'monitor',
        details: { incidentId: rec.id, flaps: rec.flaps, cause: cause?.code ?? null },
      });
      return { id: rec.id, action: 'reopened' };
    }
    if (sig !== before.findingsSignature && before.rootTs !== null && before.reply?.signature !== sig) {
      await audit({
        action: 'incident.updated',
        cluster: cluster.name,
        actor: 'monitor',
        details: {
          incidentId: rec.id,
          findings: report.findings.filter((f) => f.category === 'fault').map((f) => f.code),
          verdict: report.verdict,
        },
      });
    }
    const action: IncidentAction = !seen ? 'joined' : sig !== before.findingsSignature || before.healthyPolls > 0 ? 'updated' : 'unchanged';
    return { id: rec.id, action };
  }

  /** A record that was resolved within the reopen window: the same incident and thread, once more. */
  function reopened(last: ResolvedIncident, t: number, pollEntry: IncidentRecord['polls'][number]): IncidentRecord {
    const { durationMs: _duration, ...rest } = last;
    return {
      ...rest,
      ...reopenedFields(last, last.resolvedAt, t),
      healthyPolls: 0,
      healthySince: null,
      lastCountedAt: null,
      lastPollAt: t,
      polls: keep([...last.polls, pollEntry]),
      delivering: null,
      slackNotBefore: null,
      adoptCheck: false,
    };
  }

  function reopenedFields(rec: IncidentRecord, resolvedAt: number, t: number): Partial<IncidentRecord> {
    const flaps = rec.flaps + 1;
    // A resolution note not yet posted is dropped: it would be contradicted at once.
    const notes = rec.notes.filter((n) => n.note.kind !== 'resolved');
    return {
      flaps,
      resolvedAt: null,
      fix: null,
      seq: rec.seq + 1,
      notes: [...notes, pendingNote(rec, { kind: 'reopened', at: t, resolvedAt, flaps })],
      // A fresh diagnosis follows the note; the last fix buttons are retired by it.
      findingsSignature: '',
      reply: null,
    };
  }

  // ---- alerts: noted in the thread of the incident they join ----------------------------------

  /**
   * Alertmanager repeats a firing alert until it resolves: each alert is noted in the thread once
   * when it fires and once when it resolves (name, status, summary), in the order they came.
   */
  async function noteAlerts(cluster: string, alerts: readonly AlertNote[], t: number): Promise<void> {
    const applied = await updateIncident(cluster, (rec) => {
      if (rec.channel === null) return null; // no thread to note them in
      const seen = { ...rec.alerts };
      const notes = [...rec.notes];
      let seq = rec.seq;
      for (const alert of alerts) {
        if (seen[alert.key] === alert.status) continue;
        if (!(alert.key in seen) && Object.keys(seen).length >= MAX_ALERTS_PER_INCIDENT) continue;
        seen[alert.key] = alert.status;
        seq += 1;
        const note: ThreadNote = {
          kind: 'alert',
          at: t,
          source: alert.source,
          name: alert.name,
          status: alert.status,
          ...(alert.summary ? { summary: alert.summary } : {}),
        };
        notes.push({ note, key: `${rec.id}:${seq}:alert`, uncertain: false });
      }
      return seq === rec.seq ? null : { next: { ...rec, alerts: seen, notes, seq } };
    });
    if (applied) {
      const added = applied.decision.next.notes.slice(applied.before.notes.length).map((n) => n.note);
      log.info({ cluster, incident: applied.decision.next.id, alerts: added.length }, 'incident: alerts noted in the thread');
    }
  }

  // ---- healthy polls: recovering, then resolved ------------------------------------------

  async function onHealthy(cluster: ClusterConfig, t: number, seen: IncidentRecord): Promise<PollOutcome['incident']> {
    if (seen.resolvedAt !== null) return { id: seen.id, action: 'unchanged' };
    // Read the audit trail only when this poll may resolve (the repair that fixed it).
    const fix = seen.healthyPolls + 1 >= resolveAfterPolls ? await readFixUsed(cluster.name, seen.openedAt) : null;
    const applied = await updateIncident(cluster.name, (rec) => {
      if (rec.resolvedAt !== null) return null;
      const counts = rec.lastCountedAt === null || t - rec.lastCountedAt >= minHealthySpacingMs;
      const healthyPolls = rec.healthyPolls + (counts ? 1 : 0);
      const next: IncidentRecord = {
        ...rec,
        healthyPolls,
        healthySince: rec.healthySince ?? t,
        lastCountedAt: counts ? t : rec.lastCountedAt,
        lastPollAt: t,
        polls: keep([...rec.polls, { at: t, healthy: true }]),
      };
      if (healthyPolls >= resolveAfterPolls) {
        const note: ThreadNote = {
          kind: 'resolved',
          cause: rec.cause?.title ?? null,
          fix,
          openedAt: rec.openedAt,
          resolvedAt: t,
          resolveAfterPolls,
          flaps: rec.flaps,
        };
        Object.assign(next, { resolvedAt: t, fix, seq: rec.seq + 1, notes: [...rec.notes, pendingNote(rec, note)] });
      }
      return { next };
    });
    if (!applied) return { id: seen.id, action: 'contended' };
    const rec = applied.decision.next;
    if (rec.resolvedAt !== null) {
      log.info(
        { cluster: cluster.name, incident: rec.id, durationMs: t - rec.openedAt, fix: rec.fix?.title ?? null, flaps: rec.flaps },
        'incident resolved',
      );
      await audit({
        action: 'incident.resolved',
        cluster: cluster.name,
        actor: 'monitor',
        details: {
          incidentId: rec.id,
          durationMs: t - rec.openedAt,
          cause: rec.cause?.code ?? null,
          fix: rec.fix?.title ?? null,
          flaps: rec.flaps,
        },
      });
      return { id: rec.id, action: 'resolved' };
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

  // ---- the thread: one deliverer at a time, one step at a time, nothing lost ----------------

  /**
   * Brings the incident's thread up to date: claim the delivery (one process at a time), then run
   * the steps the thread lacks in order, recording each one that landed before the next. A step
   * that fails stops the delivery; the next poll (this process or another) retries it, looking
   * up first whatever may have landed.
   */
  async function deliverThread(cluster: string, ctx: ThreadContext): Promise<PollOutcome['thread']> {
    const token = randomBytes(8).toString('hex');
    const claimed = await updateIncident(cluster, (rec) => {
      const busy = rec.delivering !== null && ctx.now - rec.delivering.at <= DELIVERY_CLAIM_MS;
      const waiting = rec.slackNotBefore !== null && ctx.now < rec.slackNotBefore;
      if (busy || waiting || nextThreadStep(rec, ctx) === null) return null;
      return { next: { ...rec, delivering: { token, at: ctx.now } } };
    });
    if (!claimed) return undefined;
    const done: string[] = [];
    let stalled: string | undefined;
    try {
      for (let i = 0; i < MAX_STEPS_PER_POLL; i++) {
        const current = await store.getIncident(cluster);
        if (!current || current.record.delivering?.token !== token) break;
        const step = nextThreadStep(current.record, ctx);
        if (!step) break;
        const result = await runStep(current.record, step, ctx, token);
        if (result !== 'ok') {
          stalled = `${step.kind}: ${result}`;
          break;
        }
        done.push(step.kind);
        if (step.kind === 'archive') return { steps: done };
      }
    } finally {
      await updateIncident(cluster, (rec) => (rec.delivering?.token === token ? { next: { ...rec, delivering: null } } : null));
    }
    return { steps: done, ...(stalled ? { stalled } : {}) };
  }

  /** Runs one step; 'ok' when it landed and was recorded, else why not (the next poll retries). */
  async function runStep(rec: IncidentRecord, step: ThreadStep, ctx: ThreadContext, token: string): Promise<string> {
    const publisher = deps.publisher;
    const mine = (r: IncidentRecord): boolean => r.delivering?.token === token && r.id === rec.id;
    // Record what landed; renew the claim with it (progress, not time, keeps it).
    const record = async (change: (r: IncidentRecord) => Partial<IncidentRecord>): Promise<void> => {
      await updateIncident(rec.cluster, (r) => (mine(r) ? { next: { ...r, ...change(r), delivering: { token, at: now() } } } : null));
    };
    if (step.kind === 'archive') {
      const current = await store.getIncident(rec.cluster);
      if (!current || !mine(current.record)) return 'the record changed';
      const last = current.record;
      const resolvedAt = last.resolvedAt ?? ctx.now;
      const resolved: ResolvedIncident = { ...last, resolvedAt, durationMs: resolvedAt - last.openedAt, delivering: null };
      return (await store.resolveIncident(rec.cluster, current.raw, resolved)) ? 'ok' : 'the record changed';
    }
    if (!publisher || rec.channel === null) return 'no Slack';
    const ref: IncidentRef = { cluster: rec.cluster, incidentId: rec.id, channel: rec.channel, openedAt: rec.openedAt };
    try {
      switch (step.kind) {
        case 'adopt': {
          const found = await lookup(() => publisher.findRoot({ channel: rec.channel!, cluster: rec.cluster }), rec);
          const t = ctx.now;
          if (
            found &&
            found.incidentId !== rec.id &&
            (found.state !== 'resolved' || (found.resolvedAt !== null && t - found.resolvedAt <= reopenWindowMs))
          ) {
            const flapped = found.state === 'resolved';
            log.warn(
              { cluster: rec.cluster, incident: found.incidentId, ts: found.ts, state: found.state },
              flapped
                ? 'incident: no record, but its thread was resolved moments ago: reopening it'
                : 'incident: no record, but the channel has our open incident thread: adopting it (was the queue Redis restarted without persistence?)',
            );
            await record((r) => {
              const base: Partial<IncidentRecord> = {
                adoptCheck: false,
                id: found.incidentId,
                rootTs: found.ts,
                rootUncertain: false,
                openedAt: found.openedAt ?? r.openedAt,
                flaps: found.flaps,
                rootSignature: '',
                seq: r.seq + 1,
              };
              const note: ThreadNote = flapped
                ? { kind: 'reopened', at: t, resolvedAt: found.resolvedAt!, flaps: found.flaps + 1 }
                : { kind: 'adopted', at: t };
              return {
                ...base,
                ...(flapped ? { flaps: found.flaps + 1 } : {}),
                notes: [...r.notes, pendingNote({ ...r, id: found.incidentId, seq: r.seq + 1 }, note)],
              };
            });
            await audit({
              action: flapped ? 'incident.reopened' : 'incident.adopted',
              cluster: rec.cluster,
              actor: 'monitor',
              details: { incidentId: found.incidentId, replaces: rec.id, ts: found.ts },
            });
          } else {
            await record(() => ({ adoptCheck: false }));
          }
          return 'ok';
        }
        case 'root':
        case 'find-root': {
          if (step.kind === 'find-root' || step.lookFirst) {
            const found = await lookup(() => publisher.findRoot({ channel: rec.channel!, cluster: rec.cluster, incidentId: rec.id }), rec);
            if (found) {
              log.info(
                { cluster: rec.cluster, incident: rec.id, ts: found.ts },
                'incident: the root message of unknown outcome had landed; not posting it again',
              );
              await record(() => ({ rootTs: found.ts, rootUncertain: false }));
              return 'ok';
            }
            if (step.kind === 'find-root') {
              await record(() => ({ rootUncertain: false }));
              return 'ok';
            }
          }
          // Write-ahead: should this process die or the answer never come, the next one looks first.
          await record(() => ({ rootUncertain: true }));
          const view: RootView = {
            state: 'open',
            report: ctx.report!,
            detectedBy: rec.detectedBy,
            updatedAt: ctx.now,
            flaps: rec.flaps,
            ...(rec.silenced ? { silenced: rec.silenced } : {}),
          };
          const ts = await publisher.postRoot(ref, view);
          await record(() => ({ rootTs: ts, rootUncertain: false, rootSignature: rootSignature(rec, view) }));
          return 'ok';
        }
        case 'note': {
          const pending = rec.notes[0]!;
          await record((r) => ({ notes: r.notes.map((n, i) => (i === 0 ? { ...n, uncertain: true } : n)) }));
          await publisher.postNote(ref, rec.rootTs!, pending.note, { key: pending.key, landed: 0, uncertain: pending.uncertain });
          await record((r) => ({ notes: r.notes.filter((n) => n.key !== pending.key) }));
          return 'ok';
        }
        case 'diagnosis': {
          const report = ctx.report!;
          const reply =
            rec.reply?.signature === step.signature
              ? rec.reply
              : { signature: step.signature, key: `${rec.id}:${rec.seq + 1}`, landed: 0, uncertain: false };
          await record((r) => ({ reply: { ...reply, uncertain: true }, seq: Math.max(r.seq, rec.seq + 1) }));
          const fixes = await publisher.postDiagnosis(ref, rec.rootTs!, report, reply, async (landed) => {
            await record((r) => ({ reply: r.reply && r.reply.key === reply.key ? { ...r.reply, landed } : r.reply }));
          });
          await record((r) => ({
            findingsSignature: step.signature,
            reply: null,
            fixes,
            // The old buttons now point to the new ones (or were edited already by a repair).
            retire: r.fixes && r.fixes.ts !== fixes?.ts ? r.fixes : r.retire,
          }));
          return 'ok';
        }
        case 'retire': {
          await publisher.retireFixes(ref, rec.retire!, rec.fixes);
          await record(() => ({ retire: null }));
          return 'ok';
        }
        case 'refresh-fixes': {
          const refreshed = await publisher.refreshFixes(ref, rec.rootTs!, ctx.report!, rec.fixes!);
          // A repair runs from those buttons (the repair lock is held): leave its progress alone and
          // offer nothing new yet. The plans stay unrecorded, so each poll asks again: once the lock
          // is free (the repair ended, or its worker died and the lock lapsed) the plans of the state
          // it left are offered, e.g. the rest of a job cut short.
          if (refreshed === 'busy') return 'a repair holds the repair lock: the current plans are offered once it is free';
          log.info(
            { cluster: rec.cluster, incident: rec.id, plans: plansOf(ctx.report!) },
            'incident: the offered plans changed; the fix message was edited in place',
          );
          await record(() => ({ fixes: refreshed }));
          return 'ok';
        }
        case 'edit-root': {
          await publisher.editRoot(ref, rec.rootTs!, step.view);
          await record(() => ({ rootSignature: step.signature }));
          return 'ok';
        }
      }
    } catch (err) {
      return failed(rec, step, err, record);
    }
  }

  /** A failed step: say what really happened, remember whether it may have landed, wait if told to. */
  async function failed(
    rec: IncidentRecord,
    step: ThreadStep,
    err: unknown,
    record: (change: (r: IncidentRecord) => Partial<IncidentRecord>) => Promise<void>,
  ): Promise<string> {
    const message = errorMessage(err);
    if (isDeliveryError(err)) {
      const retryAt = err.retryAfterMs !== undefined ? now() + err.retryAfterMs : null;
      const landedNo = err.landed === 'no';
      await record((r) => ({
        ...(retryAt !== null ? { slackNotBefore: retryAt } : {}),
        // Certainly not posted: the next attempt need not look first.
        ...(landedNo && step.kind === 'root' ? { rootUncertain: false } : {}),
        ...(landedNo && step.kind === 'note' ? { notes: r.notes.map((n, i) => (i === 0 ? { ...n, uncertain: false } : n)) } : {}),
        ...(landedNo && step.kind === 'diagnosis' && r.reply ? { reply: { ...r.reply, uncertain: false } } : {}),
      })).catch(() => undefined);
      const what =
        err.retryAfterMs !== undefined
          ? `rate limited by Slack: retrying in ${Math.ceil(err.retryAfterMs / 1000)} s`
          : err.landed === 'unknown'
            ? `no clear answer from Slack (${message}): will look before retrying`
            : `Slack refused (${message}): retrying at the next poll`;
      log.warn({ cluster: rec.cluster, incident: rec.id, step: step.kind }, `incident thread: ${step.kind} not delivered: ${what}`);
      return what;
    }
    log.error(
      { cluster: rec.cluster, incident: rec.id, step: step.kind, error: message },
      `incident thread: ${step.kind} failed; the next poll retries`,
    );
    return message;
  }

  /** A history lookup that cannot be made (no history scope, a channel we cannot read) is said once and treated as "none found". */
  async function lookup<T>(find: () => Promise<T | null>, rec: IncidentRecord): Promise<T | null> {
    try {
      return await find();
    } catch (err) {
      if (isDeliveryError(err) && err.landed === 'no' && err.retryAfterMs === undefined) {
        log.warn(
          { cluster: rec.cluster, channel: rec.channel, error: errorMessage(err) },
          'incident: cannot read the channel history (is the channels:history / groups:history scope granted?); an unfinished post may be repeated',
        );
        return null;
      }
      throw err;
    }
  }

  function pendingNote(rec: Pick<IncidentRecord, 'id' | 'seq'>, note: ThreadNote): PendingNote {
    return { note, key: `${rec.id}:${rec.seq + 1}:${note.kind}`, uncertain: false };
  }

  // ---- risks: never incidents, posted at most once per digest interval --------------------

  async function checkRisks(cluster: ClusterConfig, report: PlannedReport | null, t: number): Promise<'posted' | 'not-due' | 'none'> {
    const channel = channelOf(cluster);
    if (!deps.publisher || !channel) return 'none';
    // Only a full diagnosis shows risks; light polls leave them to the next deep check.
    if (!report) return 'not-due';
    if (await store.riskDigestPending(cluster.name)) return 'not-due';
    const risks = riskFindings(report);
    // Informational notes (e.g. the coverage setting when nothing is uncovered) ride along with
    // real risks but never make a message on their own.
    if (!risks.some((r) => r.severity !== 'info')) return 'none';
    if (!(await store.claimRiskDigest(cluster.name, riskDigestMs))) return 'not-due';
    try {
      await deps.publisher.postRisks({ channel, cluster: cluster.name, risks, digestMs: riskDigestMs, at: t });
    } catch (err) {
      log.error({ error: errorMessage(err), cluster: cluster.name }, 'risk message could not be posted');
      return 'none';
    }
    return 'posted';
  }

  // ---- audit and state helpers --------------------------------------------------------------

  async function audit(entry: Parameters<AuditLog['record']>[0]): Promise<void> {
    await deps.audit?.record(entry);
  }

  /**
   * Optimistic update: read, decide, compare-and-set; on a lost race read again and decide
   * again, so the decision is always made on the state that is actually replaced.
   */
  async function updateIncident(
    cluster: string,
    decide: (rec: IncidentRecord) => Decision | null,
  ): Promise<{ decision: Decision; before: IncidentRecord } | null> {
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
