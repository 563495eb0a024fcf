// One place per outage (issue 13 §3): while the monitor has an incident open for a cluster, its
// thread is where that outage is discussed and its fix message is the one place with buttons.
// Slash-command diagnoses and old buttons read the incident store to find that place.
import type { WebClient } from '@slack/web-api';
import { errorMessage } from '../errors';
import type { IncidentStore } from '../incidents/store';
import type { Logger } from '../logging/logger';

export interface OpenIncidentThread {
  id: string;
  channel: string;
  /** The incident's root message: its thread is the one place. */
  rootTs: string;
  /** The thread's current fix message (its buttons), once the monitor posted one. */
  fixes: { ts: string; approvalId: string } | null;
}

/**
 * The open incident of `cluster` whose thread exists in Slack, or null (none, resolved, not
 * posted yet, or the queue Redis cannot say: then the caller goes on as without an incident).
 */
export async function openIncidentThread(
  store: Pick<IncidentStore, 'getIncident'>,
  cluster: string,
  log: Logger,
): Promise<OpenIncidentThread | null> {
  try {
    const found = await store.getIncident(cluster);
    const rec = found?.record;
    if (!rec || rec.resolvedAt !== null || !rec.channel || !rec.rootTs) return null;
    return {
      id: rec.id,
      channel: rec.channel,
      rootTs: rec.rootTs,
      fixes: rec.fixes ? { ts: rec.fixes.ts, approvalId: rec.fixes.approvalId } : null,
    };
  } catch (err) {
    log.warn({ err: errorMessage(err), cluster }, 'could not read the open incident; answering as if none were open');
    return null;
  }
}

/** Slack's link to a message, or null when Slack cannot give one. */
export async function permalinkOf(client: WebClient, channel: string, ts: string): Promise<string | null> {
  try {
    return (await client.chat.getPermalink({ channel, message_ts: ts })).permalink ?? null;
  } catch {
    return null;
  }
}

/** Where people approve during the incident: its fix message, or its thread while none is posted. */
export async function incidentFixesLink(client: WebClient, incident: OpenIncidentThread): Promise<string | null> {
  return permalinkOf(client, incident.channel, incident.fixes?.ts ?? incident.rootTs);
}
