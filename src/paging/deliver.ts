// One page to one target over HTTP: bounded retries with exponential backoff and jitter (the
// `retry` package's schedule) on 5xx, 429, timeouts and failed connections; never on another 4xx
// (a bad routing key or body does not get better by asking again). Secrets (routing key, header
// values) are scrubbed from everything this logs; a URL is named by its host only.
import { setTimeout as sleep } from 'node:timers/promises';
import * as retry from 'retry';
import { errorMessage } from '../errors';
import type { Logger } from '../logging/logger';

export interface RetryPolicy {
  /** Attempts, the first included. */
  attempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Each request is cut off after this long (counted as a retryable failure). */
  timeoutMs: number;
}

export interface PageRequest {
  /** `pagerduty` or `webhook`, for the logs. */
  target: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  /** What this page is, for the logs: `trigger of payments-20261130-1701-ab12`. */
  what: string;
  /** Values never to be logged (routing key, header values). */
  secrets: string[];
}

export type PageResult =
  | { delivered: true; attempts: number; status: number }
  | { delivered: false; attempts: number; reason: string; retryable: boolean };

type Attempt = { ok: true; status: number } | { ok: false; retryable: boolean; reason: string };

/** Posts `request`, retrying as the policy allows; resolves (never rejects) with what happened. */
export async function deliverPage(request: PageRequest, policy: RetryPolicy, logger: Logger, signal: AbortSignal): Promise<PageResult> {
  const backoffs = retry.timeouts({
    retries: Math.max(0, policy.attempts - 1),
    factor: 2,
    minTimeout: policy.minBackoffMs,
    maxTimeout: policy.maxBackoffMs,
    randomize: true,
  });
  const where = `${request.target} (${hostOf(request.url)})`;
  const scrub = scrubber(request.secrets);
  for (let attempt = 1; ; attempt++) {
    const result = await attemptOnce(request, policy.timeoutMs, signal, scrub);
    if (result.ok) {
      logger.info(
        { target: request.target, host: hostOf(request.url), status: result.status, attempts: attempt },
        `paging: ${where} accepted the ${request.what}${attempt > 1 ? ` at attempt ${attempt}` : ''}`,
      );
      return { delivered: true, attempts: attempt, status: result.status };
    }
    const wait = backoffs[attempt - 1];
    if (!result.retryable) {
      logger.error(
        { target: request.target, host: hostOf(request.url), attempts: attempt },
        `paging: ${where} refused the ${request.what}: ${result.reason}; not retried (a 4xx means the request itself is wrong: check this cluster's paging settings)`,
      );
      return { delivered: false, attempts: attempt, reason: result.reason, retryable: false };
    }
    if (wait === undefined || signal.aborted) {
      const why = signal.aborted ? 'shutting down' : `gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}`;
      logger.error(
        { target: request.target, host: hostOf(request.url), attempts: attempt },
        `paging: the ${request.what} was NOT delivered to ${where}: ${result.reason}; ${why}`,
      );
      return { delivered: false, attempts: attempt, reason: result.reason, retryable: true };
    }
    logger.warn(
      { target: request.target, host: hostOf(request.url), attempt, of: policy.attempts, retryInMs: wait },
      `paging: ${where} did not take the ${request.what} (${result.reason}), attempt ${attempt} of ${policy.attempts}; retrying in ${(wait / 1000).toFixed(1)} s`,
    );
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      // Aborted while waiting: the next attempt sees the signal and gives up.
    }
  }
}

async function attemptOnce(request: PageRequest, timeoutMs: number, stop: AbortSignal, scrub: (s: string) => string): Promise<Attempt> {
  if (stop.aborted) return { ok: false, retryable: true, reason: 'not sent: shutting down' };
  const timeout = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(request.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'redis-medic', ...request.headers },
      body: JSON.stringify(request.body),
      // A redirect is not followed: it could carry the headers to another host.
      redirect: 'manual',
      signal: AbortSignal.any([timeout, stop]),
    });
  } catch (err) {
    if (timeout.aborted) return { ok: false, retryable: true, reason: `no answer within ${timeoutMs} ms` };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, retryable: true, reason: scrub(`request failed: ${cause?.code ?? cause?.message ?? errorMessage(err)}`) };
  }
  const text = await res.text().catch(() => '');
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
  const said = text.trim() ? `: ${scrub(text.trim().replace(/\s+/g, ' ').slice(0, 300))}` : '';
  const reason = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${said}`;
  if (res.status >= 300 && res.status < 400) return { ok: false, retryable: false, reason: `${reason} (a redirect, not followed)` };
  return { ok: false, retryable: res.status >= 500 || res.status === 429, reason };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '[unparseable URL]';
  }
}

function scrubber(secrets: string[]): (s: string) => string {
  const values = secrets.filter((s) => s.length >= 4);
  return (text) => values.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
}
