import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** What the lock's value says about its holder, so a refused caller can tell who is repairing. */
export interface LockHolder {
  token: string;
  actor: string;
  planId: string;
  since: string;
}

export interface RepairLock {
  readonly key: string;
  readonly holder: LockHolder;
  /** True once a renewal found the key gone or taken, or renewals failed for a whole TTL. */
  readonly lost: boolean;
  readonly renewals: number;
  /** Deletes the key if it still holds our token; safe to call twice. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  ttlMs: number;
  actor: string;
  planId: string;
  /** 'refuse': one attempt. Otherwise retry until the lock is free or the time is up. */
  wait?: 'refuse' | { timeoutMs: number };
  pollMs?: number;
  now?: () => number;
}

export type AcquireResult = { acquired: true; lock: RepairLock } | { acquired: false; holder: LockHolder | null };

// Renew and release only while the value is still ours: an expired lock taken over by another
// repair must never be extended or deleted by the old holder.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export function repairLockKey(prefix: string, cluster: string): string {
  return `${prefix}:lock:repair:${cluster}`;
}

/**
 * A per-cluster mutex in the queue Redis: SET NX PX with an owner token, renewed every third of
 * its TTL while the repair runs, so a crashed worker frees it within one TTL.
 */
export async function acquireRepairLock(redis: Redis, key: string, options: AcquireOptions): Promise<AcquireResult> {
  const now = options.now ?? Date.now;
  const holder: LockHolder = { token: randomUUID(), actor: options.actor, planId: options.planId, since: new Date(now()).toISOString() };
  const value = JSON.stringify(holder);
  const wait = options.wait ?? 'refuse';
  const deadline = wait === 'refuse' ? now() : now() + wait.timeoutMs;
  for (;;) {
    const set = await redis.set(key, value, 'PX', options.ttlMs, 'NX');
    if (set === 'OK') return { acquired: true, lock: startRenewing(redis, key, value, holder, options.ttlMs, now) };
    if (now() >= deadline) return { acquired: false, holder: parseHolder(await redis.get(key)) };
    await sleep(Math.min(options.pollMs ?? 100, Math.max(1, deadline - now())));
  }
}

function startRenewing(redis: Redis, key: string, value: string, holder: LockHolder, ttlMs: number, now: () => number): RepairLock {
  let lost = false;
  let renewals = 0;
  let lastRenewed = now();
  let released: Promise<void> | undefined;
  const timer = setInterval(() => {
    void (redis.eval(RENEW, 1, key, value, String(ttlMs)) as Promise<number>).then(
      (ok) => {
        if (ok === 1) {
          renewals++;
          lastRenewed = now();
        } else {
          lost = true;
        }
      },
      () => {
        if (now() - lastRenewed >= ttlMs) lost = true;
      },
    );
  }, Math.max(10, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    key,
    holder,
    get lost() { return lost; },
    get renewals() { return renewals; },
    release() {
      released ??= (async () => {
        clearInterval(timer);
        await redis.eval(RELEASE, 1, key, value);
      })();
      return released;
    },
  };
}

function parseHolder(value: string | null): LockHolder | null {
  if (!value) return null;
  try {
    return JSON.parse(value) as LockHolder;
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
