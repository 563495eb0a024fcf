import type { WebClientOptions } from '@slack/web-api';
import type { Config } from '../config/schema';
import { errorMessage } from '../errors';
import type { Logger } from '../logging/logger';
import type { MessageBody } from './blocks/kit';

export const SLACK_CALL_TIMEOUT_MS = 10_000;

/**
 * fetch with a deadline unless the caller set one. Given to the WebClient and Bolt (whose
 * `respond()` has no timeout of its own), so no call to Slack can hang a handler.
 */
export const fetchWithTimeout: typeof fetch = async (input, init = {}) => {
  const method = slackMethodOf(input);
  let res: Response;
  try {
    res = await fetch(input, { ...init, signal: init.signal ?? AbortSignal.timeout(SLACK_CALL_TIMEOUT_MS) });
  } catch (err) {
    reportSlackError(method, (err as Error).name === 'TimeoutError' ? 'timeout' : 'network');
    throw err;
  }
  if (!res.ok) reportSlackError(method, `http_${res.status}`);
  else if (slackApiErrorListeners.size > 0 && (res.headers.get('content-type') ?? '').includes('json')) {
    // The Web API answers 200 with {"ok":false,"error":"..."}: read a copy, the caller reads the original.
    void (res.clone().json() as Promise<{ ok?: boolean; error?: string } | null>).then(
      (body) => {
        if (body && body.ok === false) reportSlackError(method, String(body.error ?? 'unknown'));
      },
      () => undefined,
    );
  }
  return res;
};

/**
 * What a failed Web API call means for the person waiting: Slack rate-limited us (retry later),
 * the bot cannot post there (invite it), Slack did not answer clearly (a timeout, a 5xx: the
 * call may have landed), or Slack refused for another reason.
 */
export interface SlackFailure {
  kind: 'rate-limited' | 'not-in-channel' | 'unanswered' | 'refused';
  /** Slack's error code, or the transport's message. */
  detail: string;
}

const NOT_IN_CHANNEL = new Set(['not_in_channel', 'channel_not_found', 'is_archived']);

export function slackFailureOf(err: unknown): SlackFailure {
  const e = err as { code?: string; data?: { error?: string }; statusCode?: number; message?: string } | undefined;
  const platform = e?.data?.error;
  if (
    e?.code === 'slack_webapi_rate_limited_error' ||
    platform === 'ratelimited' ||
    e?.statusCode === 429 ||
    /rate limit was exceeded/i.test(e?.message ?? '')
  ) {
    return { kind: 'rate-limited', detail: platform ?? 'ratelimited' };
  }
  if (platform && NOT_IN_CHANNEL.has(platform)) return { kind: 'not-in-channel', detail: platform };
  if (platform) return { kind: 'refused', detail: platform };
  if (e?.code === 'slack_webapi_http_error') return { kind: 'unanswered', detail: `HTTP ${e.statusCode ?? '?'}` };
  return { kind: 'unanswered', detail: errorMessage(err) };
}

/**
 * Runs `call` again while Slack rate-limits it (the WebClient has already waited out each
 * Retry-After), for at most `maxWaitMs`: work that was queued must not be dropped because a
 * channel is busy. Other failures are thrown at once.
 */
export async function whileRateLimited<T>(
  call: () => Promise<T>,
  options: { maxWaitMs: number; logger?: Logger; what: string; pauseMs?: number },
): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (slackFailureOf(err).kind !== 'rate-limited' || Date.now() - started > options.maxWaitMs) throw err;
      options.logger?.info({ what: options.what }, `slack: rate limited on ${options.what}; still retrying`);
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 1000));
    }
  }
}

/** Told about every failed Slack call of this process (for redis_medic_slack_api_errors_total). */
export type SlackApiErrorListener = (method: string, error: string) => void;
const slackApiErrorListeners = new Set<SlackApiErrorListener>();

/** Subscribe to failed Slack calls; returns the unsubscribe function. */
export function onSlackApiError(listener: SlackApiErrorListener): () => void {
  slackApiErrorListeners.add(listener);
  return () => slackApiErrorListeners.delete(listener);
}

function reportSlackError(method: string, error: string): void {
  for (const listener of slackApiErrorListeners) listener(method, error);
}

/** `https://slack.com/api/chat.postMessage` → `chat.postMessage`; a response_url → `response_url`. */
function slackMethodOf(input: Parameters<typeof fetch>[0]): string {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const last = url.split('?')[0]!.split('/').filter(Boolean).pop() ?? '';
  return /^[a-z]+(\.[a-zA-Z]+)+$/.test(last) ? last : 'response_url';
}

/**
 * An ephemeral answer through a request's response_url: it works in channels the bot is not a
 * member of, where chat.postEphemeral would fail. Errors are logged, never thrown: the user has
 * already been acknowledged, and nothing else depends on this message.
 */
export async function respondEphemeral(responseUrl: string | undefined, message: MessageBody, logger: Logger): Promise<boolean> {
  if (!responseUrl) return false;
  try {
    const res = await fetchWithTimeout(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, ...message }),
    });
    if (!res.ok) logger.warn({ status: res.status }, 'slack: response_url answered with an error');
    return res.ok;
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, 'slack: could not post to response_url');
    return false;
  }
}

/** WebClient options for every Slack client redis-medic makes: base URL, timeouts, short retries. */
export function slackClientOptions(config: Config): WebClientOptions {
  return {
    ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl.endsWith('/') ? config.slack.apiUrl : `${config.slack.apiUrl}/` } : {}),
    timeout: SLACK_CALL_TIMEOUT_MS,
    fetch: fetchWithTimeout,
    // The default retries for 30 minutes; a person is waiting on the other side of these calls.
    retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 2000 },
  };
}
