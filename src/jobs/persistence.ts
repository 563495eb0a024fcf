import type { Redis } from 'ioredis';
import { errorMessage } from '../errors';

/**
 * Whether the queue Redis keeps what redis-medic stores in it (open incidents, approvals,
 * repair markers, the audit stream) across a restart. AOF is what it needs: RDB snapshots alone
 * lose everything since the last one, and nothing at all loses everything.
 */
export interface PersistenceCheck {
  verdict: 'aof' | 'rdb-only' | 'none' | 'unknown';
  /** What was read, for the log: `appendonly yes`, `save ""`, `aof_enabled:0`. */
  evidence: string;
  /** One line for people: what it means and what to do. */
  message: string;
}

const ADVICE = 'set appendonly yes on it (docs/incidents.md, "State survives the queue Redis")';

/**
 * Reads `CONFIG GET appendonly` and `CONFIG GET save`; where CONFIG is disabled or renamed (many
 * managed Redis services), falls back to `INFO persistence`, which says whether AOF is on but not
 * the snapshot policy. Never throws: a check that cannot be made says so.
 */
export async function checkQueueRedisPersistence(redis: Redis, display: string): Promise<PersistenceCheck> {
  let appendonly: string | undefined;
  let save: string | undefined;
  try {
    appendonly = ((await redis.call('CONFIG', 'GET', 'appendonly')) as string[])[1];
    save = ((await redis.call('CONFIG', 'GET', 'save')) as string[])[1];
  } catch {
    // CONFIG disabled, renamed or not allowed for this user: INFO still tells about AOF.
  }
  if (appendonly !== undefined) {
    const evidence = `appendonly ${appendonly}, save "${save ?? ''}"`;
    if (appendonly === 'yes') return { verdict: 'aof', evidence, message: `the queue Redis ${display} persists with AOF (${evidence})` };
    if (save && save.trim() !== '') {
      return {
        verdict: 'rdb-only',
        evidence,
        message: `the queue Redis ${display} only takes RDB snapshots (${evidence}): a restart loses open incidents, approvals and repair markers written since the last snapshot; ${ADVICE}`,
      };
    }
    return {
      verdict: 'none',
      evidence,
      message: `the queue Redis ${display} has no persistence (${evidence}): a restart loses open incidents, approvals and repair markers (open threads are found again in Slack, but approvals are not); ${ADVICE}`,
    };
  }
  try {
    const info = await redis.info('persistence');
    const aof = /^aof_enabled:(\d)/m.exec(info)?.[1];
    if (aof === '1')
      return { verdict: 'aof', evidence: 'aof_enabled:1', message: `the queue Redis ${display} persists with AOF (aof_enabled:1)` };
    if (aof === '0') {
      return {
        verdict: 'unknown',
        evidence: 'aof_enabled:0',
        message: `the queue Redis ${display} has AOF off (aof_enabled:0; CONFIG is not available to read its snapshot policy): a restart may lose open incidents, approvals and repair markers; ${ADVICE}`,
      };
    }
  } catch (err) {
    return {
      verdict: 'unknown',
      evidence: errorMessage(err),
      message: `could not tell whether the queue Redis ${display} persists its data (CONFIG and INFO refused: ${errorMessage(err)}); it needs AOF: ${ADVICE}`,
    };
  }
  return {
    verdict: 'unknown',
    evidence: 'no aof_enabled in INFO',
    message: `could not tell whether the queue Redis ${display} persists its data; it needs AOF: ${ADVICE}`,
  };
}
