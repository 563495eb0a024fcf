import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { queueKeys } from '../queue-keys';

/** The diagnosis of a cluster that is running now, and where its answer will be. */
export interface InflightDiagnosis {
  cluster: string;
  kind: 'diagnose' | 'audit';
  askedBy: string;
  /** ms since the epoch. */
  since: number;
  /** The root message, once posted. */
  channel?: string;
  ts?: string;
  permalink?: string;
}

export type InflightClaim = { claimed: true; token: string } | { claimed: false; current: InflightDiagnosis };

export interface InflightDiagnoses {
  /** Atomic: one caller per cluster and kind gets `claimed: true`; everyone else gets the running one. */
  claim(entry: InflightDiagnosis): Promise<InflightClaim>;
  /** Record where the answer will be (only while the claim is still ours). */
  attach(
    cluster: string,
    kind: InflightDiagnosis['kind'],
    token: string,
    where: { channel: string; ts: string; permalink?: string },
  ): Promise<void>;
  /** Give the claim back: by its token (nothing was started), or by its root message (the answer is out). */
  release(cluster: string, kind: InflightDiagnosis['kind'], by: { token: string } | { channel: string; ts: string }): Promise<void>;
}

/**
 * A diagnosis lasts seconds (bounded timeouts, three attempts); a claim that outlives this was
 * lost with its worker, and the next ask starts afresh.
 */
export const INFLIGHT_MAX_MS = 120_000;

const CLAIM = `
local ok = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
if ok then return nil end
return redis.call('GET', KEYS[1])`;

// ARGV[1]: field to match ('token' or 'ts'), ARGV[2]: its value, ARGV[3]: the new JSON (attach) or '' (release).
const IF_MATCHES = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, entry = pcall(cjson.decode, current)
if not ok or tostring(entry[ARGV[1]]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then return redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
return 1`;

/**
 * One diagnosis per cluster in flight (issue 11 §3): a thousand people asking at once get one
 * diagnosis and are all pointed at its thread. Shared through the queue Redis, so every replica
 * of the app coalesces with the others.
 */
export function createInflightDiagnoses(redis: Redis, prefix: string, maxMs = INFLIGHT_MAX_MS): InflightDiagnoses {
  const key = (cluster: string, kind: string): string => queueKeys(prefix).inflightDiagnosis(kind, cluster);
  return {
    async claim(entry) {
      const token = crypto.randomBytes(9).toString('base64url');
      const current = (await redis.eval(CLAIM, 1, key(entry.cluster, entry.kind), JSON.stringify({ ...entry, token }), String(maxMs))) as
        | string
        | null;
      if (current === null) return { claimed: true, token };
      try {
        const { token: _token, ...rest } = JSON.parse(current) as InflightDiagnosis & { token?: string };
        return { claimed: false, current: rest };
      } catch {
        return { claimed: false, current: entry };
      }
    },
    async attach(cluster, kind, token, where) {
      const current = await redis.get(key(cluster, kind));
      if (!current) return;
      const next = JSON.stringify({ ...(JSON.parse(current) as object), ...where });
      await redis.eval(IF_MATCHES, 1, key(cluster, kind), 'token', token, next);
    },
    async release(cluster, kind, by) {
      if ('token' in by) await redis.eval(IF_MATCHES, 1, key(cluster, kind), 'token', by.token, '');
      else await redis.eval(IF_MATCHES, 1, key(cluster, kind), 'ts', by.ts, '');
    },
  };
}
