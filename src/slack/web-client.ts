import { webApi } from '@slack/bolt';
import type { Config } from '../config/schema';
import { ErrorCode, RedisMedicError } from '../errors';
import type { Logger } from '../logging/logger';
import { boltLogger } from './bolt-logger';
import { slackClientOptions } from './http-client';

/**
 * A WebClient for processes that post without running the Bolt app (`worker` on other hosts):
 * same base URL override, deadline and short retries as the app's own client.
 */
export function createSlackWebClient(config: Config, logger?: Logger, mode: 'default' | 'no-retries' = 'default'): webApi.WebClient {
  if (!config.slack.botToken) throw new RedisMedicError(ErrorCode.ConfigError, 'posting to Slack needs SLACK_BOT_TOKEN (slack.botToken)');
  return new webApi.WebClient(config.slack.botToken, {
    ...slackClientOptions(config),
    // For callers that must know what happened to each call (the incident thread): a timed-out
    // post may have landed, so it is looked up, never blindly sent again; a 429 is handed back
    // with its Retry-After instead of pausing every call of the client.
    ...(mode === 'no-retries' ? { retryConfig: { retries: 0 }, rejectRateLimitedCalls: true } : {}),
    ...(logger ? { logger: boltLogger(logger) } : {}),
  });
}
