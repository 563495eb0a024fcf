import { ErrorCode, RedisMedicError } from '../errors';

/**
 * The settings given by environment variables, as a raw (unvalidated) configuration that
 * loadConfig merges over the file's. Apart from load.ts, and without zod, so that the CLI can tell
 * whether there is any configuration to load at all (src/cli/context.ts diagnoseSettingsFrom).
 */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, Record<string, unknown>> = {};
  const set = (section: string, key: string, value: unknown): void => {
    if (value === undefined || value === '') return;
    (out[section] ??= {})[key] = value;
  };
  set('slack', 'botToken', env.SLACK_BOT_TOKEN);
  set('slack', 'signingSecret', env.SLACK_SIGNING_SECRET);
  set('slack', 'appToken', env.SLACK_APP_TOKEN);
  set('slack', 'apiUrl', env.SLACK_API_URL);
  set('slack', 'defaultChannel', env.SLACK_DEFAULT_CHANNEL);
  set('http', 'port', numberFromEnv(env, 'PORT'));
  set('http', 'internalPort', numberFromEnv(env, 'INTERNAL_PORT'));
  set('queue', 'redisUrl', env.REDIS_URL);
  set('queue', 'prefix', env.QUEUE_PREFIX);
  set('monitor', 'intervalMs', numberFromEnv(env, 'MONITOR_INTERVAL_MS'));
  set('alerts', 'webhookToken', env.ALERT_WEBHOOK_TOKEN);
  const result: Record<string, unknown> = { ...out };
  if (env.APPROVAL_SECRET) result.approvalSecret = env.APPROVAL_SECRET;
  if (env.REDIS_MEDIC_CLUSTERS) result.clusters = clustersFromEnv(env.REDIS_MEDIC_CLUSTERS);
  return result;
}

/** `REDIS_MEDIC_CLUSTERS="payments=10.0.0.31:6379,10.0.0.32:6379;cache=10.0.1.5:6379"` */
function clustersFromEnv(text: string): Array<{ name: string; seeds: string[] }> {
  return text
    .split(';')
    .filter((s) => s.trim())
    .map((entry) => {
      const [name = '', seeds = ''] = entry.split('=');
      return {
        name: name.trim(),
        seeds: seeds
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      };
    });
}

function numberFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new RedisMedicError(ErrorCode.ConfigError, `environment variable ${name} must be a number, got "${text}"`);
  return n;
}
