// Pure Block Kit builders for incident and risk messages: data in, { text, blocks } out.
import type { types } from '@slack/bolt';
import { countSlots, formatRanges, type SlotRange } from '../../cluster/slots';
import type { DiagnosisReport, Finding } from '../../diagnosis/types';
import { escapeMrkdwn, fallbackText, mention, permalinkText, truncate } from './text';
import { causeOf, type FixUsed } from '../../incidents/assess';
import type { SilencedView } from '../../incidents/incident-publisher';
import { plural } from '../../text';

type KnownBlock = types.KnownBlock;

export interface SlackMessage {
  /** Notification and screen-reader text; Slack shows it where blocks cannot be shown. */
  text: string;
  blocks: KnownBlock[];
  /** Message metadata: lets anything reading the channel find incident messages without parsing text. */
  metadata: { event_type: string; event_payload: Record<string, string | number> };
}

export const INCIDENT_EVENT = 'redis_medic_incident';
/** Replies in an incident thread: their metadata key lets a retry find the parts that landed. */
export const INCIDENT_REPLY_EVENT = 'redis_medic_incident_reply';
export const RISK_EVENT = 'redis_medic_risk';

const SECTION_MAX = 2900; // Slack's limit is 3000 characters per section text.
const MAX_RANGES_SHOWN = 4;
const MAX_RISKS_SHOWN = 10;

/** `:red_circle: payments is DOWN — Master 10.0.0.32:6379 is down and has no replica — 5461 slots not served (10923-16383)` */
export function incidentHeadline(cluster: string, report: DiagnosisReport): string {
  const cause = causeOf(report)?.title ?? 'cause not identified';
  if (report.verdict === 'down') {
    const uncovered = countSlots(report.coverage.uncovered);
    const slots = uncovered > 0 ? ` — ${plural(uncovered, 'slot')} not served (${shortRanges(report.coverage.uncovered)})` : '';
    return `:red_circle: ${cluster} is DOWN — ${cause}${slots}`;
  }
  return `:large_orange_circle: ${cluster} is DEGRADED — ${cause}`;
}

export interface OpenIncidentInput {
  cluster: string;
  incidentId: string;
  openedAt: number;
  /** `the monitor`, or the alert that reported it. */
  detectedBy: string;
  report: DiagnosisReport;
  updatedAt: number;
  /** How often it broke again after being resolved (reopened in this thread). */
  flaps?: number;
  /** The cluster was silenced while this incident was present (the silence is over). */
  silenced?: SilencedView;
}

/** The root message while the outage lasts; edited in place as the state changes. */
export function openIncidentMessage(input: OpenIncidentInput): SlackMessage {
  const headline = incidentHeadline(input.cluster, input.report);
  const down = input.report.nodes.filter((n) => n.health === 'down').map((n) => n.addr || n.id.slice(0, 8));
  const facts = [
    down.length ? `*Down:* ${escape(down.slice(0, 8).join(', '))}${down.length > 8 ? ` and ${down.length - 8} more` : ''}` : '',
    `*Findings:* ${input.report.findings.filter((f) => f.category === 'fault').length} fault(s), details and fix buttons in the thread`,
    flapText(input.flaps),
    silencedText(input.silenced),
  ].filter(Boolean);
  return {
    text: fallbackText(headline),
    blocks: [
      section(`*${escape(headline)}*`),
      section(facts.join('\n')),
      context(
        `Incident ${input.incidentId} · opened ${when(input.openedAt)} · detected by ${escape(input.detectedBy)} · last change ${when(input.updatedAt)}`,
      ),
    ],
    metadata: metadata(input, 'open'),
  };
}

export interface RecoveringInput {
  cluster: string;
  incidentId: string;
  openedAt: number;
  cause: string | null;
  resolveAfterPolls: number;
  since: number;
  flaps?: number;
  silenced?: SilencedView;
}

/** Healthy again, but not for long enough to call it resolved (a blip keeps its thread). */
export function recoveringIncidentMessage(input: RecoveringInput): SlackMessage {
  const headline = `:large_yellow_circle: ${input.cluster} looks healthy again — resolving after ${input.resolveAfterPolls} healthy polls in a row`;
  return {
    text: fallbackText(headline),
    blocks: [
      section(`*${escape(headline)}*`),
      section(
        [`*Cause:* ${escape(input.cause ?? 'not identified')}`, flapText(input.flaps), silencedText(input.silenced)]
          .filter(Boolean)
          .join('\n'),
      ),
      context(`Incident ${input.incidentId} · opened ${when(input.openedAt)} · healthy since ${when(input.since)}`),
    ],
    metadata: metadata(input, 'recovering'),
  };
}

export interface ResolvedInput {
  cluster: string;
  incidentId: string;
  openedAt: number;
  resolvedAt: number;
  cause: string | null;
  fix: FixUsed | null;
  resolveAfterPolls: number;
  flaps?: number;
  silenced?: SilencedView;
}

/** The root message once resolved: how long it lasted, what caused it, what fixed it. */
export function resolvedIncidentMessage(input: ResolvedInput): SlackMessage {
  const duration = formatDuration(input.resolvedAt - input.openedAt);
  const headline = `:large_green_circle: ${input.cluster}: Resolved after ${duration}`;
  return {
    text: fallbackText(`${headline}. Cause: ${input.cause ?? 'not identified'}. Fix: ${fixText(input.fix, false)}`),
    blocks: [
      section(`*${escape(headline)}*`),
      section(
        [
          `*Cause:* ${escape(input.cause ?? 'not identified')}\n*Fix:* ${fixText(input.fix, true)}`,
          flapText(input.flaps),
          silencedText(input.silenced),
        ]
          .filter(Boolean)
          .join('\n'),
      ),
      context(
        `Incident ${input.incidentId} · opened ${when(input.openedAt)} · resolved ${when(input.resolvedAt)} · every node said cluster_state:ok for ${input.resolveAfterPolls} polls in a row`,
      ),
    ],
    metadata: metadata(input, 'resolved', input.resolvedAt),
  };
}

/** The thread's last word, so people following the thread are told too. */
export function resolvedThreadReply(input: ResolvedInput): { text: string; blocks: KnownBlock[] } {
  const text = `:large_green_circle: Resolved after ${formatDuration(input.resolvedAt - input.openedAt)}: every node has said cluster_state:ok for ${input.resolveAfterPolls} polls in a row.`;
  return {
    text: fallbackText(text),
    blocks: [section(`${escape(text)}\n*Cause:* ${escape(input.cause ?? 'not identified')}\n*Fix:* ${fixText(input.fix, true)}`)],
  };
}

/** It broke again soon after being resolved: the same thread is reopened, and says so. */
export function reopenedThreadReply(input: { at: number; resolvedAt: number; flaps: number }): { text: string; blocks: KnownBlock[] } {
  const text = `:red_circle: Broke again ${formatDuration(input.at - input.resolvedAt)} after it was resolved: this incident is reopened (${plural(input.flaps, 'flap')} so far). The diagnosis follows.`;
  return { text: fallbackText(text), blocks: [section(escape(text))] };
}

/** An alert that joined the open incident: `:bell: Alert RedisClusterDown (alertmanager) firing: CLUSTERDOWN seen by checkout`. */
export function alertThreadReply(input: { source: string; name: string; status: 'firing' | 'resolved'; summary?: string }): {
  text: string;
  blocks: KnownBlock[];
} {
  const icon = input.status === 'firing' ? ':bell:' : ':white_check_mark:';
  const what = input.status === 'firing' ? 'is firing' : 'resolved';
  const from = input.name === input.source ? '' : ` (${input.source})`;
  const text = `${icon} Alert *${escapeMrkdwn(input.name)}*${escapeMrkdwn(from)} ${what}${input.summary ? `: ${escapeMrkdwn(input.summary)}` : '.'}`;
  return {
    text: fallbackText(`Alert ${input.name} ${what}${input.summary ? `: ${input.summary}` : ''}`),
    blocks: [section(truncate(text, SECTION_MAX))],
  };
}

/** The incident record was lost (a queue Redis without persistence restarted) and this thread was picked up again. */
export function adoptedThreadReply(): { text: string; blocks: KnownBlock[] } {
  const text =
    ':information_source: redis-medic lost its record of this incident (its queue Redis restarted without persistence, see docs/incidents.md) and picked this thread up again. Buttons posted before this note no longer work: use the ones below.';
  return { text: fallbackText(text), blocks: [section(escape(text))] };
}

/**
 * A fix message whose buttons were superseded by a newer diagnosis: no buttons any more, and a
 * pointer (a permalink when Slack gave one) to the message that has the current ones.
 */
export function retiredFixesMessage(input: { cluster: string; pointer: string | null; plans: number }): {
  text: string;
  blocks: KnownBlock[];
} {
  // A bare link (Slack links it): the only link in these messages, and it is Slack's own permalink.
  const where = input.pointer ? `the newer diagnosis below: ${escape(input.pointer)}` : 'the newer diagnosis below';
  const text = `:arrow_down: Superseded: the cluster changed, so ${input.plans === 1 ? 'this fix is' : 'these fixes are'} gone. The current buttons are in ${where}.`;
  return {
    text: fallbackText(`Superseded: the current fix buttons for ${input.cluster} are in the newer diagnosis of this thread.`),
    blocks: [section(text)],
  };
}

/**
 * Fix buttons posted outside the incident's thread (a /redis-diagnose answer made before the
 * incident opened), retired once clicked during it: the incident's fix message is the one place.
 */
export function movedToIncidentMessage(input: { cluster: string; pointer: string | null; plans: number }): {
  text: string;
  blocks: KnownBlock[];
} {
  const link = permalinkText(input.pointer);
  const where = link ? `the incident's fix message: ${link}` : "the fix message of the incident's thread";
  const text = `:arrow_right: An incident is open for *${escapeMrkdwn(input.cluster)}*: ${input.plans === 1 ? 'this fix is' : 'these fixes are'} no longer offered here. The current buttons are in ${where}.`;
  return {
    text: fallbackText(`Moved: the current fix buttons for ${input.cluster} are in the incident's thread.`),
    blocks: [section(text)],
  };
}

export interface RiskInput {
  cluster: string;
  risks: readonly Finding[];
  digestMs: number;
  at: number;
}

/** Risks are not outages: one message, repeated at most once per digest interval. */
export function riskMessage(input: RiskInput): SlackMessage {
  const n = input.risks.length;
  const headline = `:warning: ${input.cluster}: ${plural(n, 'risk')} to address (not an outage)`;
  const shown = input.risks.slice(0, MAX_RISKS_SHOWN);
  return {
    text: fallbackText(`${headline}: ${input.risks.map((r) => r.title).join('; ')}`),
    blocks: [
      section(`*${escape(headline)}*`),
      ...shown.map((r) => section(`*${escape(r.title)}*\n${escape(r.detail)}`)),
      ...(n > shown.length ? [section(`…and ${n - shown.length} more (run a diagnosis for the full list)`)] : []),
      context(`Checked ${when(input.at)} · posted at most once every ${formatDuration(input.digestMs)}`),
    ],
    metadata: { event_type: RISK_EVENT, event_payload: { cluster: input.cluster, risks: n } },
  };
}

/** `42s`, `4m 12s`, `1h 3m`, `2d 4h`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function fixText(fix: FixUsed | null, mrkdwn: boolean): string {
  if (!fix) return 'none by redis-medic (the cluster recovered by itself, or was repaired outside redis-medic)';
  const who = fix.by && mrkdwn ? (/^[UW][A-Z0-9]+$/.test(fix.by) ? `<@${fix.by}>` : escape(fix.by)) : fix.by;
  const title = mrkdwn ? escape(fix.title) : fix.title;
  return `${title} (${fix.status}${who ? `, approved by ${who}` : ''})`;
}

function shortRanges(ranges: readonly SlotRange[]): string {
  const shown = formatRanges(ranges.slice(0, MAX_RANGES_SHOWN));
  return ranges.length > MAX_RANGES_SHOWN ? `${shown}, …` : shown;
}

function when(ms: number): string {
  const fallback = `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${fallback}>`;
}

/**
 * What a channel's history must tell a process that lost its incident records: which cluster and
 * incident, its state, when it opened (and was resolved), how often it flapped.
 */
function metadata(
  input: { cluster: string; incidentId: string; openedAt: number; flaps?: number },
  state: string,
  resolvedAt?: number,
): SlackMessage['metadata'] {
  return {
    event_type: INCIDENT_EVENT,
    event_payload: {
      cluster: input.cluster,
      incident_id: input.incidentId,
      state,
      opened_at: input.openedAt,
      flaps: input.flaps ?? 0,
      ...(resolvedAt !== undefined ? { resolved_at: resolvedAt } : {}),
    },
  };
}

/** `*Silenced* until 14:30 by @alice (db upgrade): no thread and no page meanwhile; the monitor kept polling.` */
export function silencedText(silenced: SilencedView | undefined): string {
  if (!silenced) return '';
  const by = silenced.source === 'maintenance' ? 'a maintenance window in the configuration' : mention(silenced.by);
  const why = silenced.reason ? ` (${escape(silenced.reason)})` : '';
  return `*Silenced* until ${when(silenced.until)} by ${by}${why}: no thread and no page meanwhile; the monitor kept polling and recording.`;
}

function flapText(flaps: number | undefined): string {
  return flaps ? `*Flapping:* broke again ${flaps === 1 ? 'once' : `${flaps} times`} soon after being resolved (same thread)` : '';
}

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_MAX) } };
}

function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, SECTION_MAX) }] };
}

/** Slack mrkdwn control characters; everything else is shown as written. */
export const escape = escapeMrkdwn;
