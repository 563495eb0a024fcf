// Pure: which incident decisions page someone, and what a page says. The monitor decides
// (src/incidents/monitor.ts); the pagers here only act on its decisions.
import type { IncidentDetail, PollOutcome } from '../incidents/monitor';

export type PageKind = 'opened' | 'reopened' | 'resolved';

/** One incident decision, as the pagers see it. */
export interface PageEvent {
  kind: PageKind;
  incidentId: string;
  cluster: string;
  /** One line for a pager's title. */
  summary: string;
  severity: 'critical' | 'error' | 'warning';
  verdict: string | null;
  cause: { code: string; title: string } | null;
  openedAt: number;
  resolvedAt: number | null;
  flaps: number;
  /** The incident's Slack thread, once its root message landed. */
  threadUrl: string | null;
  at: number;
}

/** A poll outcome to the page it calls for, or null (most polls page nobody). */
export function pageEventOf(outcome: PollOutcome, at: number, slackUrl: string): PageEvent | null {
  const incident = outcome.incident;
  if (!incident?.detail) return null;
  const { action, detail } = incident;
  if (action !== 'opened' && action !== 'reopened' && action !== 'resolved') return null;
  const verdict = detail.verdict ?? outcome.verdict;
  return {
    kind: action,
    incidentId: incident.id,
    cluster: detail.cluster,
    summary: summaryOf(action, detail, verdict),
    severity: verdict === 'down' ? 'critical' : verdict === 'degraded' ? 'error' : 'warning',
    verdict,
    cause: detail.cause,
    openedAt: detail.openedAt,
    resolvedAt: detail.resolvedAt,
    flaps: detail.flaps,
    threadUrl: detail.channel && detail.rootTs ? slackPermalink(slackUrl, detail.channel, detail.rootTs) : null,
    at,
  };
}

function summaryOf(action: PageKind, detail: IncidentDetail, verdict: string | null): string {
  const cause = detail.cause?.title ?? 'cause not identified';
  const state = verdict ?? 'broken';
  if (action === 'resolved') return `Redis Cluster ${detail.cluster} recovered (was: ${cause})`;
  const again = action === 'reopened' ? ` (broke again, ${detail.flaps} flap${detail.flaps === 1 ? '' : 's'})` : '';
  return `Redis Cluster ${detail.cluster} is ${state}: ${cause}${again}`;
}

/**
 * `https://slack.com/archives/C0123/p1700000000123456`: Slack's permalink shape (the message ts
 * without its dot), which slack.com redirects into the workspace; no Slack call needed.
 */
export function slackPermalink(base: string, channel: string, ts: string): string {
  return `${base.replace(/\/+$/, '')}/archives/${encodeURIComponent(channel)}/p${ts.replace('.', '')}`;
}
