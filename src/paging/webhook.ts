// Pure: the body of the generic JSON webhook (documented in docs/paging.md; change both together).
import type { PageEvent } from './events';

export const WEBHOOK_BODY_VERSION = 1;

export interface WebhookBody {
  version: typeof WEBHOOK_BODY_VERSION;
  /** `incident.opened`, `incident.reopened` or `incident.resolved`. */
  event: `incident.${PageEvent['kind']}`;
  incidentId: string;
  cluster: string;
  summary: string;
  severity: PageEvent['severity'];
  verdict: string | null;
  cause: { code: string; title: string } | null;
  openedAt: string;
  resolvedAt: string | null;
  durationMs: number | null;
  flaps: number;
  slackThread: string | null;
  sentAt: string;
}

export function webhookBody(event: PageEvent): WebhookBody {
  return {
    version: WEBHOOK_BODY_VERSION,
    event: `incident.${event.kind}`,
    incidentId: event.incidentId,
    cluster: event.cluster,
    summary: event.summary,
    severity: event.severity,
    verdict: event.verdict,
    cause: event.cause,
    openedAt: new Date(event.openedAt).toISOString(),
    resolvedAt: event.resolvedAt !== null ? new Date(event.resolvedAt).toISOString() : null,
    durationMs: event.resolvedAt !== null ? event.resolvedAt - event.openedAt : null,
    flaps: event.flaps,
    slackThread: event.threadUrl,
    sentAt: new Date(event.at).toISOString(),
  };
}
