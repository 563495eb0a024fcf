// Silences: a cluster whose incidents nobody must hear about for a while (planned maintenance).
// Set from Slack (`/redis-diagnose silence <cluster> <duration> [reason]`) or by a maintenance
// window in the config; kept in the queue Redis, so every replica sees the same one. While a
// cluster is silenced the monitor still polls and records its history, but opens no incident
// thread and pages nobody. Whether a silence is over is decided by the caller's clock (`now`),
// never by the key's TTL, which only cleans up.
import type { Redis } from 'ioredis';
import type { ClusterConfig } from '../config/schema';
import { queueKeys } from '../queue-keys';

export interface Silence {
  cluster: string;
  /** When it was set (ms) and when it ends (ms): silenced while now < until. */
  at: number;
  until: number;
  reason: string | null;
  /** A Slack user id, or `config` for a maintenance window. */
  by: string;
  source: 'command' | 'maintenance';
  /**
   * Set once the monitor has seen it over (and told the incident present then, if any): an ended
   * silence is reported once, not on every later incident.
   */
  noted?: boolean;
}

/** The longest silence a command may set: anything longer is a maintenance window in the config. */
export const MAX_SILENCE_MS = 7 * 24 * 3600 * 1000;
/** An ended silence is kept this long (for the incident root and `list`), then the key expires. */
const KEEP_ENDED_MS = 24 * 3600 * 1000;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `90s`, `30m`, `2h`, `1d`, `1h30m` to milliseconds; a message saying what is wrong otherwise.
 * Pure. At least a minute, at most MAX_SILENCE_MS.
 */
export function parseSilenceDuration(text: string): { ok: true; ms: number } | { ok: false; message: string } {
  const example = 'use a number and a unit, e.g. `30m`, `2h`, `1d` or `1h30m` (s, m, h, d, w)';
  const trimmed = text.trim().toLowerCase();
  if (!/^(\d{1,6}[smhdw])+$/.test(trimmed)) return { ok: false, message: `\`${text}\` is not a duration: ${example}.` };
  let ms = 0;
  for (const [, n, unit] of trimmed.matchAll(/(\d+)([smhdw])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  if (ms < 60_000) return { ok: false, message: `\`${text}\` is shorter than a minute: ${example}.` };
  if (ms > MAX_SILENCE_MS)
    return { ok: false, message: `\`${text}\` is longer than 7 days: use a maintenance window in the configuration for that.` };
  return { ok: true, ms };
}

/** Pure: the configured maintenance window of `cluster` in force at `t`, as a silence. */
export function maintenanceSilence(cluster: ClusterConfig, t: number): Silence | null {
  let best: Silence | null = null;
  for (const w of cluster.maintenance ?? []) {
    const from = Date.parse(w.from);
    const until = Date.parse(w.until);
    if (from <= t && t < until && (!best || until > best.until))
      best = { cluster: cluster.name, at: from, until, reason: w.reason ?? 'maintenance window', by: 'config', source: 'maintenance' };
  }
  return best;
}

/** In force until `until` (from when it was set: another replica's clock may be a little behind). */
export function isActive(silence: Silence | null | undefined, t: number): boolean {
  return Boolean(silence && t < silence.until);
}

// Replace only the value that was read: an ended silence is marked noted without overwriting a
// silence set meanwhile.
const CAS_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1`;

export interface SilenceStore {
  get(cluster: string): Promise<{ silence: Silence; raw: string } | null>;
  /** Sets (or replaces) the cluster's silence. */
  set(silence: Silence, now: number): Promise<void>;
  /** Ends it now; the previous silence when there was one in force. */
  clear(cluster: string, now: number): Promise<Silence | null>;
  /** Marks an ended silence as reported (compare-and-set on `raw`). */
  markNoted(cluster: string, raw: string): Promise<boolean>;
  /** Every configured cluster's stored silence (for `list`). */
  getAll(clusters: string[]): Promise<Map<string, Silence>>;
}

export function createSilenceStore(redis: Redis, prefix: string): SilenceStore {
  const key = queueKeys(prefix).silence;
  const ttl = (s: Silence, now: number) => String(Math.ceil(Math.max(1, s.until - now) + KEEP_ENDED_MS));
  const parse = (raw: string | null): Silence | null => (raw ? (JSON.parse(raw) as Silence) : null);
  return {
    async get(cluster) {
      const raw = await redis.get(key(cluster));
      const silence = parse(raw);
      return silence && raw ? { silence, raw } : null;
    },
    async set(silence, now) {
      await redis.set(key(silence.cluster), JSON.stringify(silence), 'PX', ttl(silence, now));
    },
    async clear(cluster, now) {
      const raw = await redis.get(key(cluster));
      const before = parse(raw);
      if (!before || !raw || !isActive(before, now)) return null;
      // Ended now: kept (as ended) so the incident present, if any, says until when it was silenced.
      const ended: Silence = { ...before, until: now };
      const ok = await redis.eval(CAS_SCRIPT, 1, key(cluster), raw, JSON.stringify(ended));
      return ok === 1 ? before : null;
    },
    async markNoted(cluster, raw) {
      const silence = parse(raw);
      if (!silence) return false;
      return (await redis.eval(CAS_SCRIPT, 1, key(cluster), raw, JSON.stringify({ ...silence, noted: true }))) === 1;
    },
    async getAll(clusters) {
      if (clusters.length === 0) return new Map();
      const raws = await redis.mget(...clusters.map(key));
      const out = new Map<string, Silence>();
      clusters.forEach((c, i) => {
        const s = parse(raws[i] ?? null);
        if (s) out.set(c, s);
      });
      return out;
    },
  };
}
