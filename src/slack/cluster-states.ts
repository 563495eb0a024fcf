import type { Redis } from 'ioredis';
import type { SlotRange } from '../cluster/slots';
import type { DiagnosisReport, FindingCode, Verdict } from '../diagnosis/types';
import { queueKeys } from '../queue-keys';

/** The last verdict published for a cluster: what `/redis-diagnose list` shows. */
export interface LastState {
  verdict: Verdict;
  primary: FindingCode | null;
  checkedAt: string;
  uncovered: SlotRange[];
  /** Where it was posted: a link back. */
  channel?: string;
  ts?: string;
}

/** What a "Diagnosing..." message was asked for: a full diagnosis, or only prevention checks. */
export interface RequestRecord {
  kind: 'diagnose' | 'audit';
  requestedBy: string;
}

export interface ClusterStates {
  saveLast(cluster: string, state: LastState): Promise<void>;
  readLast(): Promise<Map<string, LastState>>;
  saveRequest(channel: string, ts: string, record: RequestRecord): Promise<void>;
  readRequest(channel: string, ts: string): Promise<RequestRecord | null>;
}

const REQUEST_TTL_S = 24 * 3600;

export function createClusterStates(redis: Redis, prefix: string): ClusterStates {
  const keys = queueKeys(prefix);
  const lastKey = keys.slackLastState();
  const requestKey = keys.slackRequest;
  return {
    async saveLast(cluster, state) {
      await redis.hset(lastKey, cluster, JSON.stringify(state));
    },
    async readLast() {
      const all = await redis.hgetall(lastKey);
      const out = new Map<string, LastState>();
      for (const [cluster, text] of Object.entries(all)) {
        try {
          out.set(cluster, JSON.parse(text) as LastState);
        } catch {
          /* a corrupt entry reads as "never diagnosed" */
        }
      }
      return out;
    },
    async saveRequest(channel, ts, record) {
      await redis.set(requestKey(channel, ts), JSON.stringify(record), 'EX', REQUEST_TTL_S);
    },
    async readRequest(channel, ts) {
      const text = await redis.get(requestKey(channel, ts));
      return text ? (JSON.parse(text) as RequestRecord) : null;
    },
  };
}

export function lastStateOf(report: DiagnosisReport, where?: { channel: string; ts: string }): LastState {
  return {
    verdict: report.verdict,
    primary: report.primary,
    checkedAt: report.checkedAt,
    uncovered: report.coverage.uncovered,
    ...(where ?? {}),
  };
}
