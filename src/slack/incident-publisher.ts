// The Slack side of the incident monitor (src/incidents/incident-publisher.ts is the port): it
// renders each step of an incident's thread and makes exactly the Slack calls it needs, with a
// client that never retries by itself. Every failure is classified for the monitor: certainly
// not posted, rate limited (with Retry-After), or of unknown outcome; before a post of unknown
// outcome is made again, the channel's history (message metadata) says whether it landed.
import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema';
import { withDeadline } from '../deadline';
import { errorMessage } from '../errors';
import {
  DeliveryError,
  type Delivery,
  type FixMessage,
  type FoundRoot,
  type IncidentPublisher,
  type IncidentRef,
  type RootView,
  type ThreadNote,
} from '../incidents/incident-publisher';
import type { Logger } from '../logging/logger';
import { approversNeeded, createApprovalStore, newApprovalId, type ApprovalRecord } from './approvals';
import { findingsMessages, fixesMessage, nodeTableMessages, rootMessage } from './blocks/diagnosis';
import {
  adoptedThreadReply,
  alertThreadReply,
  INCIDENT_EVENT,
  INCIDENT_REPLY_EVENT,
  openIncidentMessage,
  recoveringIncidentMessage,
  reopenedThreadReply,
  resolvedIncidentMessage,
  resolvedThreadReply,
  retiredFixesMessage,
  riskMessage,
} from './blocks/incident';
import type { MessageBody } from './blocks/kit';
import { buttonKey, createButtonSigner, fixButtonValues, type ButtonSigner } from './button-value';
import { createClusterStates, lastStateOf } from './cluster-states';
import { createStandaloneFixesIndex, retireStandaloneFixes } from './open-incident';
import { createSlackWebClient } from './web-client';
import type { PlannedReport } from '../repair/types';
import { queueKeys } from '../queue-keys';

export interface SlackIncidentPublisherDeps {
  config: Config;
  logger: Logger;
  redis: Redis;
  /** Default: a client made from the config that never retries by itself (see createSlackWebClient). */
  client?: WebClient;
  signer?: ButtonSigner;
  now?: () => number;
  /** Every Slack call is cut off after this (default 15 s; the client's own timeout is 10 s). */
  callTimeoutMs?: number;
  /** How far back the channel's history is searched for an incident root (default 7 days). */
  lookbackMs?: number;
}

/** A Retry-After up to this long is waited out inside the call; longer ones go back to the monitor. */
const SHORT_RETRY_AFTER_MS = 2000;
const MAX_SHORT_WAITS = 2;
const HISTORY_PAGE = 200;
const HISTORY_PAGES = 5;
// Answers that mean Slack failed mid-way: the message may exist (Slack's docs say so for internal_error).
const MAYBE_LANDED = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

interface Part {
  message: MessageBody;
  /** The fix message: its approval id goes into its metadata. */
  approvalId?: string;
  plans?: string[];
}

export function createSlackIncidentPublisher(deps: SlackIncidentPublisherDeps): IncidentPublisher {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'slack-incidents' });
  const client = deps.client ?? createSlackWebClient(config, deps.logger, 'no-retries');
  const signer = deps.signer ?? createButtonSigner(buttonKey(config, log));
  const approvals = createApprovalStore(deps.redis, config.queue.prefix, config.approvals.expiryMs);
  const states = createClusterStates(deps.redis, config.queue.prefix);
  const standalone = createStandaloneFixesIndex(deps.redis, config.queue.prefix, config.approvals.expiryMs);
  const callTimeoutMs = deps.callTimeoutMs ?? 15_000;
  const lookbackMs = deps.lookbackMs ?? 7 * 24 * 3600 * 1000;

  /** One Slack call, classified on failure; a short Retry-After is waited out here. */
  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await withDeadline(fn(), callTimeoutMs);
      } catch (err) {
        const failure = classify(what, err);
        if (failure.retryAfterMs !== undefined && failure.retryAfterMs <= SHORT_RETRY_AFTER_MS && attempt < MAX_SHORT_WAITS) {
          log.info({ what, retryAfterMs: failure.retryAfterMs }, `slack: rate limited on ${what}; retrying in ${failure.retryAfterMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, failure.retryAfterMs));
          continue;
        }
        throw failure;
      }
    }
  }

  async function post(what: string, channel: string, message: MessageBody & { metadata?: unknown }, threadTs?: string): Promise<string> {
    const res = await call(what, () =>
      client.chat.postMessage({
        channel,
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(message.metadata ? { metadata: message.metadata as never } : {}),
      }),
    );
    if (!res.ts) throw new DeliveryError(`${what}: chat.postMessage returned no ts`, 'unknown');
    return res.ts;
  }

  async function update(what: string, channel: string, ts: string, message: MessageBody & { metadata?: unknown }): Promise<void> {
    await call(what, () =>
      client.chat.update({
        channel,
        ts,
        text: message.text,
        blocks: message.blocks,
        ...(message.metadata ? { metadata: message.metadata as never } : {}),
      }),
    );
  }

  /** Messages of one thread carrying `key` in their metadata, by part index. */
  async function landedParts(
    channel: string,
    threadTs: string,
    key: string,
  ): Promise<Map<number, { ts: string; approvalId?: string; plans?: string[] }>> {
    const found = new Map<number, { ts: string; approvalId?: string; plans?: string[] }>();
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page++) {
      const res = await call('conversations.replies', () =>
        client.conversations.replies({
          channel,
          ts: threadTs,
          include_all_metadata: true,
          limit: HISTORY_PAGE,
          ...(cursor ? { cursor } : {}),
        }),
      );
      for (const m of res.messages ?? []) {
        const meta = (m as { metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }).metadata;
        if (meta?.event_type !== INCIDENT_REPLY_EVENT || meta.event_payload?.key !== key || !m.ts) continue;
        const p = meta.event_payload;
        found.set(Number(p.part), {
          ts: m.ts,
          ...(typeof p.approval_id === 'string' ? { approvalId: p.approval_id } : {}),
          ...(typeof p.plans === 'string' ? { plans: p.plans ? p.plans.split(',') : [] } : {}),
        });
      }
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    return found;
  }

  /** Posts `parts` in order after `delivery.landed`, first looking up what an uncertain attempt left. */
  async function postParts(
    ref: IncidentRef,
    threadTs: string,
    parts: Part[],
    delivery: Delivery,
    onLanded: (landed: number) => Promise<void>,
  ): Promise<Array<{ ts: string; approvalId?: string; plans?: string[] }>> {
    const posted: Array<{ ts: string; approvalId?: string; plans?: string[] } | undefined> = [];
    let start = delivery.landed;
    if (delivery.uncertain) {
      const landed = await landedParts(ref.channel, threadTs, delivery.key);
      for (const [index, found] of landed) posted[index] = found;
      while (landed.has(start)) start++;
      if (start > delivery.landed) {
        log.info(
          { incident: ref.incidentId, key: delivery.key, landed: start },
          'slack: parts of an interrupted reply had landed; not posting them again',
        );
        await onLanded(start);
      }
    }
    for (let index = start; index < parts.length; index++) {
      const part = parts[index]!;
      const metadata = {
        event_type: INCIDENT_REPLY_EVENT,
        event_payload: {
          cluster: ref.cluster,
          incident_id: ref.incidentId,
          key: delivery.key,
          part: index,
          ...(part.approvalId !== undefined ? { approval_id: part.approvalId, plans: (part.plans ?? []).join(',') } : {}),
        },
      };
      const ts = await post('incident reply', ref.channel, { ...part.message, metadata }, threadTs);
      posted[index] = { ts, ...(part.approvalId !== undefined ? { approvalId: part.approvalId, plans: part.plans ?? [] } : {}) };
      await onLanded(index + 1);
    }
    return posted.filter((p): p is NonNullable<typeof p> => p !== undefined);
  }

  /** The fix buttons of `report`, under a new approval saved before the buttons exist. */
  async function fixPart(ref: IncidentRef, threadTs: string, report: PlannedReport): Promise<Part> {
    if (report.fixes.length === 0) {
      return {
        message: fixesMessage(report, { approve: () => '', dryRun: () => '' }, config.approvals.expiryMs),
        approvalId: '',
        plans: [],
      };
    }
    const approval: ApprovalRecord = {
      id: newApprovalId(),
      cluster: report.cluster,
      requestedBy: null,
      channel: ref.channel,
      threadTs,
      rootTs: null,
      verdict: report.verdict,
      plans: report.fixes,
      createdAt: now(),
    };
    // Stored before the buttons exist, so no click can arrive for an unknown approval.
    await approvals.save(approval);
    // Incidents have no requester: a high-risk plan may need several approvers (issue 11 §4).
    const progress = { needed: (p: PlannedReport['fixes'][number]) => approversNeeded(p, config.approvals) };
    return {
      message: fixesMessage(report, fixButtonValues(signer, approval), config.approvals.expiryMs, progress),
      approvalId: approval.id,
      plans: report.fixes.map((p) => p.id),
    };
  }

  function rootBody(ref: IncidentRef, view: RootView): MessageBody & { metadata: unknown } {
    const base = {
      cluster: ref.cluster,
      incidentId: ref.incidentId,
      openedAt: ref.openedAt,
      flaps: view.flaps,
      ...(view.silenced ? { silenced: view.silenced } : {}),
    };
    if (view.state === 'open')
      return openIncidentMessage({ ...base, detectedBy: view.detectedBy, report: view.report, updatedAt: view.updatedAt });
    if (view.state === 'recovering')
      return recoveringIncidentMessage({ ...base, cause: view.cause, resolveAfterPolls: view.resolveAfterPolls, since: view.since });
    return resolvedIncidentMessage({
      ...base,
      resolvedAt: view.resolvedAt,
      cause: view.cause,
      fix: view.fix,
      resolveAfterPolls: view.resolveAfterPolls,
    });
  }

  async function permalink(channel: string, ts: string): Promise<string | null> {
    try {
      return (await call('chat.getPermalink', () => client.chat.getPermalink({ channel, message_ts: ts }))).permalink ?? null;
    } catch {
      return null;
    }
  }

  return {
    async findRoot({ channel, cluster, incidentId }) {
      const oldest = String(Math.floor((now() - lookbackMs) / 1000));
      let cursor: string | undefined;
      for (let page = 0; page < HISTORY_PAGES; page++) {
        const res = await call('conversations.history', () =>
          client.conversations.history({ channel, oldest, limit: HISTORY_PAGE, include_all_metadata: true, ...(cursor ? { cursor } : {}) }),
        );
        // Newest first: the first match is the latest incident of the cluster.
        for (const m of res.messages ?? []) {
          const found = rootOf(
            m as { ts?: string; metadata?: { event_type?: string; event_payload?: Record<string, unknown> } },
            cluster,
            incidentId,
          );
          if (found) return found;
        }
        cursor = res.response_metadata?.next_cursor || undefined;
        if (!cursor) break;
      }
      return null;
    },

    postRoot(ref, view) {
      return post('incident root', ref.channel, rootBody(ref, view));
    },

    editRoot(ref, ts, view) {
      return update('incident root edit', ref.channel, ts, rootBody(ref, view));
    },

    async postDiagnosis(ref, threadTs, report, delivery, onLanded) {
      const body: Part[] = [
        { message: rootMessage(report, { kind: 'diagnose', requestedBy: null }) },
        ...findingsMessages(report).map((message) => ({ message })),
        ...nodeTableMessages(report.nodes).map((message) => ({ message })),
      ];
      // The approval is made when its message is about to be posted (a resumed reply whose fix
      // message already landed keeps the approval it landed with).
      const fixIndex = body.length;
      let parts: Part[] = [...body, { message: { text: '', blocks: [] } }];
      if (delivery.landed <= fixIndex) parts = [...body, await fixPart(ref, threadTs, report)];
      const posted = await postParts(ref, threadTs, parts, delivery, onLanded);
      const fix = posted.find((p) => p.approvalId !== undefined);
      // The thread now has its fix message: /redis-diagnose threads of this cluster offer no buttons any more.
      await retireStandaloneFixes({ client, approvals, index: standalone, logger: log }, ref.cluster, {
        id: ref.incidentId,
        channel: ref.channel,
        rootTs: threadTs,
        fixes: fix ? { ts: fix.ts, approvalId: fix.approvalId ?? '' } : null,
      }).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not retire the buttons of other threads'));
      await states
        .saveLast(report.cluster, lastStateOf(report, { channel: ref.channel, ts: threadTs }))
        .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not store the last state'));
      return fix ? { ts: fix.ts, approvalId: fix.approvalId!, plans: fix.plans ?? [] } : null;
    },

    async refreshFixes(ref, threadTs, report, current) {
      if (current.approvalId && (await approvals.claimOf(current.approvalId))) {
        // Someone approved from it: the message now tells that repair's story. While a repair
        // runs, nothing new is offered; once none runs (it ended, or its worker died half way),
        // the current plans get a fix message of their own below it.
        if ((await deps.redis.exists(queueKeys(config.queue.prefix).repairLock(ref.cluster))) === 1) return 'busy';
        const part = await fixPart(ref, threadTs, report);
        const ts = await post(
          'fix message',
          ref.channel,
          {
            ...part.message,
            metadata: {
              event_type: INCIDENT_REPLY_EVENT,
              event_payload: {
                cluster: ref.cluster,
                incident_id: ref.incidentId,
                key: `${current.ts}:after`,
                part: 0,
                approval_id: part.approvalId!,
                plans: (part.plans ?? []).join(','),
              },
            },
          },
          threadTs,
        );
        return { ts, approvalId: part.approvalId!, plans: part.plans! };
      }
      const part = await fixPart(ref, threadTs, report);
      await update('fix message edit', ref.channel, current.ts, part.message);
      const next: FixMessage = { ts: current.ts, approvalId: part.approvalId!, plans: part.plans! };
      // A click on the old buttons (a stale screen) now answers with a pointer here.
      if (current.approvalId)
        await approvals.supersede(current.approvalId, {
          approvalId: next.approvalId,
          ts: next.ts,
          permalink: await permalink(ref.channel, next.ts),
        });
      return next;
    },

    async retireFixes(ref, old, current) {
      if (!old.approvalId) return; // a "no automatic fix" message has no buttons to retire
      const pointer = current ? await permalink(ref.channel, current.ts) : null;
      if (current) await approvals.supersede(old.approvalId, { approvalId: current.approvalId, ts: current.ts, permalink: pointer });
      // Approved already: the message shows that repair's progress and outcome; leave it.
      if (await approvals.claimOf(old.approvalId)) return;
      await update(
        'retire fix message',
        ref.channel,
        old.ts,
        retiredFixesMessage({ cluster: ref.cluster, pointer, plans: old.plans.length }),
      );
    },

    async postNote(ref, threadTs, note, delivery) {
      await postParts(ref, threadTs, [{ message: noteMessage(note) }], delivery, async () => undefined);
    },

    async postRisks(input) {
      await post('risk message', input.channel, riskMessage(input));
    },
  };
}

function noteMessage(note: ThreadNote): MessageBody {
  if (note.kind === 'reopened') return reopenedThreadReply(note);
  if (note.kind === 'adopted') return adoptedThreadReply();
  if (note.kind === 'alert') return alertThreadReply(note);
  return resolvedThreadReply({
    cluster: '',
    incidentId: '',
    openedAt: note.openedAt,
    resolvedAt: note.resolvedAt,
    cause: note.cause,
    fix: note.fix,
    resolveAfterPolls: note.resolveAfterPolls,
    flaps: note.flaps,
  });
}

function rootOf(
  m: { ts?: string; metadata?: { event_type?: string; event_payload?: Record<string, unknown> } },
  cluster: string,
  incidentId?: string,
): FoundRoot | null {
  const meta = m.metadata;
  if (!m.ts || meta?.event_type !== INCIDENT_EVENT) return null;
  const p = meta.event_payload ?? {};
  if (p.cluster !== cluster || typeof p.incident_id !== 'string') return null;
  if (incidentId && p.incident_id !== incidentId) return null;
  const state = p.state === 'open' || p.state === 'recovering' || p.state === 'resolved' ? p.state : null;
  if (!state) return null;
  const num = (v: unknown): number | null =>
    typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : null;
  return {
    ts: m.ts,
    incidentId: p.incident_id,
    state,
    openedAt: num(p.opened_at),
    resolvedAt: num(p.resolved_at),
    flaps: num(p.flaps) ?? 0,
  };
}

/** What a failed Slack call means for the caller: did it land, and should we wait? */
function classify(what: string, err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as { code?: string; retryAfter?: number; data?: { error?: string }; statusCode?: number };
  if (e?.code === 'slack_webapi_rate_limited_error') {
    return new DeliveryError(
      `${what}: rate limited by Slack (Retry-After ${e.retryAfter ?? 1} s)`,
      'no',
      Math.max(1, e.retryAfter ?? 1) * 1000,
    );
  }
  if (e?.code === 'slack_webapi_platform_error') {
    const code = e.data?.error ?? 'error';
    if (code === 'ratelimited') return new DeliveryError(`${what}: rate limited by Slack`, 'no', 1000);
    return new DeliveryError(`${what}: Slack answered ${code}`, MAYBE_LANDED.has(code) ? 'unknown' : 'no');
  }
  if (e?.code === 'slack_webapi_http_error') return new DeliveryError(`${what}: Slack answered HTTP ${e.statusCode ?? '?'}`, 'unknown');
  return new DeliveryError(`${what}: ${errorMessage(err)}`, 'unknown');
}
