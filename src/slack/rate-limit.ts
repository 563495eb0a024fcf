import type { Redis } from 'ioredis';
import { queueKeys } from '../queue-keys';

export interface RateLimitPolicy {
  /** Requests one Slack user may make per window (commands, clicks and submissions together). */
  perUser: number;
  windowMs: number;
}

export type RateVerdict =
  | { allowed: true }
  /** `firstRefusal`: the first request over the limit in this window (the one worth answering). */
  | { allowed: false; retryAfterMs: number; firstRefusal: boolean };

export interface RateLimiter {
  hit(user: string): Promise<RateVerdict>;
}

/**
 * Per-user fixed windows in the queue Redis (INCR + PEXPIRE), shared by every replica. If the
 * queue Redis cannot answer, requests pass: the replay guard in front of this has already
 * refused them in that case, so nothing is let through that it would not.
 */
export function createRateLimiter(redis: Redis, prefix: string, policy: RateLimitPolicy, now: () => number = Date.now): RateLimiter {
  return {
    async hit(user) {
      const t = now();
      const window = Math.floor(t / policy.windowMs);
      const key = queueKeys(prefix).slackRate(user, window);
      let count: number;
      try {
        const replies = await redis.multi().incr(key).pexpire(key, policy.windowMs).exec();
        count = Number(replies?.[0]?.[1] ?? 0);
      } catch {
        return { allowed: true };
      }
      if (count <= policy.perUser) return { allowed: true };
      return { allowed: false, retryAfterMs: (window + 1) * policy.windowMs - t, firstRefusal: count === policy.perUser + 1 };
    },
  };
}

/** What the rate-limit middleware sees of a Bolt request (commands, clicks, submissions, events). */
export interface LimitedRequestArgs {
  body: unknown;
  ack?: (response?: unknown) => Promise<void>;
  next: () => Promise<void>;
}

/**
 * Bolt global middleware: over the limit, the request is acknowledged with the reason and goes
 * no further. Commands get it in the ack (no Slack call); a click gets one ephemeral reply per
 * window (the first refusal), so a flood of clicks cannot turn into a flood of Slack calls.
 */
export function rateLimitMiddleware(deps: {
  limiter: RateLimiter;
  policy: RateLimitPolicy;
  message: (retryAfterMs: number) => { text: string; blocks: unknown[] };
  /** The modal input a refused view submission names (its error shows under that input). */
  viewErrorBlock: string;
  respond: (responseUrl: string | undefined, message: { text: string; blocks: unknown[] }) => Promise<unknown>;
  onRefused?: (user: string, kind: string) => void;
}) {
  return async (args: LimitedRequestArgs): Promise<void> => {
    const body = args.body as { type?: string; user_id?: string; command?: string; user?: { id?: string }; response_url?: string };
    const user = body.user_id ?? body.user?.id;
    if (!user || !args.ack) return args.next();
    const verdict = await deps.limiter.hit(user);
    if (verdict.allowed) return args.next();
    const kind = body.command ? 'command' : (body.type ?? 'request');
    deps.onRefused?.(user, kind);
    const message = deps.message(verdict.retryAfterMs);
    if (body.command) {
      await args.ack({ response_type: 'ephemeral', ...message });
    } else if (body.type === 'view_submission') {
      await args.ack({ response_action: 'errors', errors: { [deps.viewErrorBlock]: message.text } });
    } else {
      await args.ack();
      if (verdict.firstRefusal) await deps.respond(body.response_url, message);
    }
  };
}
