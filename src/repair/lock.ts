import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { withDeadline } from '../deadline';

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
  /** Told once, when the first attempt finds the lock held and a wait begins: who holds it, and when it lapses unless renewed. */
  onHeld?: (holder: LockHolder | null, expiresInMs: number | null) => void | Promise<void>;
  pollMs?: number;
  /** Bound of each command to the queue Redis (default 2000 ms): a hung Redis must not hang a repair. */
  opTimeoutMs?: number;
  now?: () => number;
}

export type AcquireResult =
  | { acquired: true; lock: RepairLock }
  /** expiresInMs: when the holder's lock lapses unless its worker renews it (a dead worker's lock is gone by then). */
  | { acquired: false; holder: LockHolder | null; expiresInMs: number | null };

// Renew and release only while the value is still ours: an expired lock taken over by another
// repair must never be extended or deleted by the old holder.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

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
  const bound = <T>(p: Promise<T>, what: string): Promise<T> => queueDeadline(p, options.opTimeoutMs ?? 2000, what);
  const held = async (): Promise<{ holder: LockHolder | null; expiresInMs: number | null }> => {
    const [value, pttl] = await bound(Promise.all([redis.get(key), redis.pttl(key)]), 'GET and PTTL of the repair lock');
    return { holder: parseHolder(value), expiresInMs: pttl >= 0 ? pttl : null };
  };
  for (let attempt = 0; ; attempt++) {
    const set = await bound(redis.set(key, value, 'PX', options.ttlMs, 'NX'), 'SET NX of the repair lock');
    if (set === 'OK')
      return { acquired: true, lock: startRenewing(redis, key, value, holder, options.ttlMs, now, options.opTimeoutMs ?? 2000) };
    if (now() >= deadline) return { acquired: false, ...(await held()) };
    if (attempt === 0 && options.onHeld) {
      const seen = await held();
      await options.onHeld(seen.holder, seen.expiresInMs);
    }
    await sleep(Math.min(options.pollMs ?? 100, Math.max(1, deadline - now())));
  }
}

function startRenewing(
  redis: Redis,
  key: string,
  value: string,
  holder: LockHolder,
  ttlMs: number,
  now: () => number,
  opTimeoutMs: number,
): RepairLock {
  let lost = false;
  let renewals = 0;
  let lastRenewed = now();
  let released: Promise<void> | undefined;
  const timer = setInterval(
    () => {
      // Not renewed for a whole TTL (Redis down or hung): the key may have expired and been taken.
      if (now() - lastRenewed >= ttlMs) lost = true;
      void queueDeadline(
        redis.eval(RENEW, 1, key, value, String(ttlMs)) as Promise<number>,
        Math.min(opTimeoutMs, ttlMs),
        'lock renewal',
      ).then(
        (ok) => {
          if (ok === 1) {
            renewals++;
            lastRenewed = now();
          } else {
            lost = true;
          }
        },
        () => undefined,
      );
    },
    Math.max(10, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    key,
    holder,
    get lost() {
      return lost;
    },
    get renewals() {
      return renewals;
    },
    release() {
      released ??= (async () => {
        clearInterval(timer);
        await queueDeadline(redis.eval(RELEASE, 1, key, value), opTimeoutMs, 'release of the repair lock');
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

function queueDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(promise, ms, () => new Error(`${what}: no reply from the queue Redis within ${ms} ms`));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
