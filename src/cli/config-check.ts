import type { Command } from 'commander';
import { EXIT, processIO, UsageError, type CliIO } from './context';

export function register(program: Command, io: CliIO = processIO): void {
  const config = program.command('config').description('work with the configuration file');
  config
    .command('check')
    .description(
      'validate a configuration file (and the environment it reads) without connecting to anything; `start` refuses what this refuses',
    )
    .argument('[file]', 'the file to check (default: --config or $REDIS_MEDIC_CONFIG)')
    .action((file: string | undefined, _options: unknown, command: Command) => {
      const globalFile = command.optsWithGlobals<{ config?: string }>().config;
      process.exitCode = runConfigCheck(file ?? globalFile ?? process.env.REDIS_MEDIC_CONFIG, process.env, io);
    });
}

/**
 * Loads the file exactly as `start` does (`${VAR}` expansion, environment overrides, the schema
 * and unknown keys) and says what it found. Problems throw a ConfigError (exit code 2).
 */
export function runConfigCheck(file: string | undefined, env: NodeJS.ProcessEnv, io: CliIO): number {
  if (!file) throw new UsageError('no configuration file: give FILE, --config or $REDIS_MEDIC_CONFIG');
  const { loadConfig } = require('../config/load') as typeof import('../config/load');
  const config = loadConfig({ file, env });
  const clusters = config.clusters.map((c) => c.name);
  const slack = config.slack.appToken ? 'Socket Mode' : config.slack.botToken ? 'HTTP' : 'not configured';
  io.stdout(
    [
      `${file}: valid`,
      `  clusters: ${clusters.length === 0 ? 'none' : `${clusters.length} (${clusters.join(', ')})`}`,
      `  Slack: ${slack}`,
      `  queue Redis: ${redactUrlLazy(config.queue.redisUrl)} (prefix ${config.queue.prefix})`,
    ].join('\n'),
  );
  return EXIT.ok;
}

function redactUrlLazy(url: string): string {
  const { redactUrl } = require('../logging/logger') as typeof import('../logging/logger');
  return redactUrl(url);
}
