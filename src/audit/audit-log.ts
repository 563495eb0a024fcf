import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';
import { queueKeys } from '../queue-keys';

export type AuditAction =
  | 'diagnosis.requested'
  | 'diagnosis.completed'
  | 'diagnosis.failed'
  | 'repair.approved'
  | 'repair.vote'
  | 'repair.refused'
  | 'repair.started'
  | 'repair.step'
  | 'repair.finished'
  | 'incident.opened'
  | 'incident.updated'
  | 'incident.resolved'
  | 'incident.reopened'
  | 'incident.adopted'
  | 'alert.received'
  | 'request.rejected'
  | 'silence.set'
  | 'silence.cleared'
  | 'silence.refused';

export interface AuditEntry {
  action: AuditAction;
  cluster: string;
  /** Who: a Slack user id, `cli:<user>`, `monitor`, `alertmanager`. */
  actor: string;
  /** Free-form details: plan id, step, reason, job id. Never secrets. */
  details?: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  id: string;
  at: string;
}

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  read(options?: { cluster?: string; count?: number }): Promise<AuditRecord[]>;
}

/**
 * Every diagnosis, approval, refusal and repair step goes to a Redis stream (XADD, capped) and
 * to the log. The stream lives in the queue Redis, so every replica and worker writes one log.
 */
export function createAuditLog(redis: Redis, prefix: string, logger: Logger, maxLen = 100_000): AuditLog {
  const key = queueKeys(prefix).audit();
  return {
    async record(entry) {
      logger.info({ audit: entry }, `audit: ${entry.action} ${entry.cluster} by ${entry.actor}`);
      try {
        await redis.xadd(
          key,
          'MAXLEN',
          '~',
          String(maxLen),
          '*',
          'action',
          entry.action,
          'cluster',
          entry.cluster,
          'actor',
          entry.actor,
          'details',
          JSON.stringify(entry.details ?? {}),
        );
      } catch (err) {
        // The audit trail must not be lost silently: the log line above keeps it, and this says why the stream has a gap.
        logger.error({ err, audit: entry }, 'audit: could not append to the audit stream');
      }
    },
    async read({ cluster, count = 100 } = {}) {
      // Newest first, filtered by cluster; scan further back than `count` when filtering.
      const raw = await redis.xrevrange(key, '+', '-', 'COUNT', String(cluster ? count * 20 : count));
      const records = raw.map(([id, fields]) => toRecord(id, fields));
      return records
        .filter((r) => !cluster || r.cluster === cluster)
        .slice(0, count)
        .reverse();
    },
  };
}

function toRecord(id: string, fields: string[]): AuditRecord {
  const map: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
  let details: Record<string, unknown> = {};
  try {
    details = JSON.parse(map.details ?? '{}') as Record<string, unknown>;
  } catch {
    details = { raw: map.details };
  }
  return {
    id,
    at: new Date(Number(id.split('-')[0])).toISOString(),
    action: map.action as AuditAction,
    cluster: map.cluster ?? '',
    actor: map.actor ?? '',
    details,
  };
}
