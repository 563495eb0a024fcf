import type { Command } from 'commander';
import type { Config } from '../config/schema';
import type { RunningService } from '../service';
import { configFrom, keepProcessAlive, UsageError } from './context';

interface StartOptions {
  port?: string;
  workers: boolean;
  lockDurationMs?: string;
  stalledIntervalMs?: string;
}

export function register(program: Command): void {
  program
    .command('start')
    .description('run the Slack app, the HTTP routes (/healthz, /metrics, /alerts), the workers and the monitor in one process')
    .option('--port <port>', 'HTTP port (default $PORT or 3000)')
    .option('--no-workers', 'run the app only; `redis-medic worker` processes do the work')
    .option(
      '--lock-duration-ms <ms>',
      'a job whose worker stops renewing its lock for this long is handed to another worker (default 30000)',
    )
    .option('--stalled-interval-ms <ms>', 'how often to look for jobs whose worker died (default 30000)')
    .action(async (options: StartOptions, command: Command) => {
      await runStart(options, configFrom(command));
      keepProcessAlive();
    });
}

/** Starts the service and stops it cleanly on SIGTERM/SIGINT (exit code 0). */
export async function runStart(options: StartOptions, config: Config): Promise<RunningService> {
  const port = options.port === undefined ? undefined : Number(options.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
    throw new UsageError(`--port must be 0-65535, got "${options.port}"`);
  // Bolt and BullMQ load here, not when the CLI starts.
  const { createLogger } = require('../logging/logger') as typeof import('../logging/logger');
  const { startService } = require('../service') as typeof import('../service');
  const logger = createLogger().child({ process: 'start' });
  const ms = (flag: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number of milliseconds, got "${value}"`);
    return n;
  };
  const lockDurationMs = ms('--lock-duration-ms', options.lockDurationMs);
  const stalledIntervalMs = ms('--stalled-interval-ms', options.stalledIntervalMs);
  const workers = { ...(lockDurationMs ? { lockDurationMs } : {}), ...(stalledIntervalMs ? { stalledIntervalMs } : {}) };
  const service = await startService(config, {
    logger,
    withWorkers: options.workers,
    ...(port !== undefined ? { port } : {}),
    ...(Object.keys(workers).length ? { workers } : {}),
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    void service.stop(signal).then(() => {
      // Everything is closed; the timer only catches a leaked handle.
      setTimeout(() => process.exit(process.exitCode ?? 0), 5000).unref();
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return service;
}
