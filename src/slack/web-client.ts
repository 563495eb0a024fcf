import { webApi } from '@slack/bolt';
import type { Config } from '../config/schema';
import { ErrorCode, RedisMedicError } from '../errors';
import { fetchWithTimeout, SLACK_CALL_TIMEOUT_MS } from './http-client';

/**
 * A WebClient for processes that post without running the Bolt app (`worker` on other hosts):
 * same base URL override, deadline and short retries as the app's own client.
 */
export function createSlackWebClient(config: Config): webApi.WebClient {
  if (!config.slack.botToken) throw new RedisMedicError(ErrorCode.ConfigError, 'posting to Slack needs SLACK_BOT_TOKEN (slack.botToken)');
  const apiUrl = config.slack.apiUrl;
  return new webApi.WebClient(config.slack.botToken, {
    ...(apiUrl ? { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {}),
    timeout: SLACK_CALL_TIMEOUT_MS,
    fetch: fetchWithTimeout,
    retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 2000 },
  });
}
