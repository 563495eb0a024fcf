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
export const fetchWithTimeout: typeof fetch = (input, init = {}) =>
  fetch(input, { ...init, signal: init.signal ?? AbortSignal.timeout(SLACK_CALL_TIMEOUT_MS) });

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

