// Pure: the PagerDuty Events API v2 body of a page (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
import type { PageEvent } from './events';

/** PagerDuty's limit on payload.summary. */
const SUMMARY_MAX = 1024;

export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  client?: string;
  client_url?: string;
  payload?: {
    summary: string;
    source: string;
    severity: PageEvent['severity'];
    timestamp: string;
    component: string;
    group: string;
    class: string;
    custom_details: Record<string, unknown>;
  };
  links?: Array<{ href: string; text: string }>;
}

/** Opened and reopened trigger (the same dedup key: one PagerDuty incident); resolved resolves it. */
export function pagerDutyEvent(event: PageEvent, routingKey: string): PagerDutyEvent {
  if (event.kind === 'resolved') return { routing_key: routingKey, event_action: 'resolve', dedup_key: event.incidentId };
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: event.incidentId,
    client: 'redis-medic',
    ...(event.threadUrl ? { client_url: event.threadUrl } : {}),
    payload: {
      summary: event.summary.slice(0, SUMMARY_MAX),
      source: `redis-cluster/${event.cluster}`,
      severity: event.severity,
      timestamp: new Date(event.openedAt).toISOString(),
      component: event.cluster,
      group: 'redis-cluster',
      class: event.cause?.code ?? 'UNKNOWN',
      custom_details: {
        incident_id: event.incidentId,
        cluster: event.cluster,
        verdict: event.verdict,
        cause: event.cause?.title ?? null,
        opened_at: new Date(event.openedAt).toISOString(),
        flaps: event.flaps,
        slack_thread: event.threadUrl,
      },
    },
    ...(event.threadUrl ? { links: [{ href: event.threadUrl, text: `Slack thread of incident ${event.incidentId}` }] } : {}),
  };
}
