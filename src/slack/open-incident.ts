// One place per outage (issue 13 §3): while the monitor has an incident open for a cluster, its
// thread is where that outage is discussed and its fix message is the one place with buttons.
// Slash-command diagnoses and old buttons read the incident store to find that place.
import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import { errorMessage } from '../errors';
import type { IncidentStore } from '../incidents/store';
import type { Logger } from '../logging/logger';
import { queueKeys } from '../queue-keys';
import type { ApprovalStore } from './approvals';
import { movedToIncidentMessage } from './blocks/incident';

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

/** A fix message with buttons posted outside any incident thread (a /redis-diagnose answer). */
export interface StandaloneFixes {
  approvalId: string;
  channel: string;
  ts: string;
  plans: number;
}

/**
 * The fix messages of /redis-diagnose threads, per cluster, so that the incident that opens
 * later retires their buttons at once: two threads never offer the same approvals.
 */
export interface StandaloneFixesIndex {
  add(cluster: string, fixes: StandaloneFixes): Promise<void>;
  /** Every entry, removed as it is read (one process retires each). */
  take(cluster: string): Promise<StandaloneFixes[]>;
}

const TAKE_ALL = `
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all`;

export function createStandaloneFixesIndex(redis: Redis, prefix: string, ttlMs: number): StandaloneFixesIndex {
  const key = (cluster: string): string => queueKeys(prefix).standaloneFixes(cluster);
  return {
    async add(cluster, fixes) {
      await redis.multi().hset(key(cluster), fixes.approvalId, JSON.stringify(fixes)).pexpire(key(cluster), ttlMs).exec();
    },
    async take(cluster) {
      const flat = (await redis.eval(TAKE_ALL, 1, key(cluster))) as string[];
      const out: StandaloneFixes[] = [];
      for (let i = 1; i < flat.length; i += 2) {
        try {
          out.push(JSON.parse(flat[i]!) as StandaloneFixes);
        } catch {
          // a damaged entry: its buttons still refuse on click (approve-fix checks the incident)
        }
      }
      return out;
    },
  };
}

/**
 * The incident's thread has its fix message: every /redis-diagnose fix message of the cluster
 * loses its buttons and points there, and its approval answers a click with the same pointer.
 * One approved already keeps telling its repair's story.
 */
export async function retireStandaloneFixes(
  deps: { client: WebClient; approvals: Pick<ApprovalStore, 'supersede' | 'claimOf'>; index: StandaloneFixesIndex; logger: Logger },
  cluster: string,
  incident: OpenIncidentThread,
): Promise<number> {
  const entries = await deps.index.take(cluster);
  if (entries.length === 0) return 0;
  const pointer = await incidentFixesLink(deps.client, incident);
  const by = { approvalId: incident.fixes?.approvalId ?? '', ts: incident.fixes?.ts ?? incident.rootTs, permalink: pointer };
  for (const entry of entries) {
    try {
      await deps.approvals.supersede(entry.approvalId, by);
      if (await deps.approvals.claimOf(entry.approvalId)) continue;
      const moved = movedToIncidentMessage({ cluster, pointer, plans: entry.plans });
      await deps.client.chat.update({ channel: entry.channel, ts: entry.ts, text: moved.text, blocks: moved.blocks });
    } catch (err) {
      // Its buttons still refuse on click: approve-fix checks the open incident.
      deps.logger.warn({ err: errorMessage(err), cluster, ts: entry.ts }, 'could not retire the buttons of a /redis-diagnose thread');
    }
  }
  deps.logger.info({ cluster, incident: incident.id, retired: entries.length }, 'incident: buttons of other threads retired');
  return entries.length;
}
