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
export function createSlackWebClient(config: Config, logger?: Logger): webApi.WebClient {
  if (!config.slack.botToken) throw new RedisMedicError(ErrorCode.ConfigError, 'posting to Slack needs SLACK_BOT_TOKEN (slack.botToken)');
  return new webApi.WebClient(config.slack.botToken, { ...slackClientOptions(config), ...(logger ? { logger: boltLogger(logger) } : {}) });
}
