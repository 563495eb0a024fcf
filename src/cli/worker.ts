import type { Command } from 'commander';
import type { Config } from '../config/schema';
import type { WorkerWiring } from '../service';
import { errorMessage } from '../errors';
import type { RouteServer } from '../http/health';
import type { QueueName } from '../jobs/queues';
import type { JobSystem, WorkerSettings } from '../jobs/system';
import type { JobHooks } from '../jobs/types';
import type { Logger } from '../logging/logger';
import { configFrom, EXIT, keepProcessAlive, processIO, UsageError, type CliIO } from './context';

const LEAK_EXIT_MS = 10_000;

export interface WorkerCliOptions {
  queues?: string;
  concurrency?: string;
  healthPort?: string;
  lockDurationMs?: string;
  stalledIntervalMs?: string;
  shutdownGraceMs?: string;
}

export function register(program: Command, io: CliIO = processIO, wiring: WorkerWiring = {}): void {
  program
    .command('worker')
    .description('run job workers only (no Slack app, no scheduler); run several, on several hosts, to share the work')
    .option(
      '--queues <names>',
      'queues to work on, comma separated: diagnose,repair,monitor (default: diagnose,repair, plus monitor when the monitor is wired)',
    )
    .option('--concurrency <n>', 'jobs in parallel per queue (default: queue.*Concurrency from the config)')
    .option('--health-port <port>', 'serve GET /healthz and /metrics on this port (0 = any free port)')
    .option('--lock-duration-ms <ms>', 'a job whose worker stops renewing its lock for this long is handed to another worker', '30000')
    .option('--stalled-interval-ms <ms>', 'how often to look for jobs whose worker died', '30000')
    .option('--shutdown-grace-ms <ms>', 'on SIGTERM, how long running jobs may take to finish', '30000')
    .action(async (options: WorkerCliOptions, command: Command) => {
      await runWorker(options, configFrom(command), wiring, io);
      keepProcessAlive();
    });
}

export interface RunningWorker {
  system: JobSystem;
  health?: RouteServer;
  /** Resolves once a signal has stopped everything. */
  stopped: Promise<void>;
  stop(reason: string): Promise<void>;
}

/**
 * Starts workers, and stops them on SIGTERM/SIGINT: no new jobs; running diagnoses finish within
 * the grace period or are handed back to the queue; a running repair is waited for; connections
 * closed; exit code 0. A second signal exits at once (code 1).
 */
export async function runWorker(
  options: WorkerCliOptions,
  config: Config,
  wiring: WorkerWiring = {},
  io: CliIO = processIO,
): Promise<RunningWorker> {
  const settings = workerSettings(options, config);
  // pino, the HTTP routes and BullMQ load here, not when the CLI starts.
  const { createLogger } = require('../logging/logger') as typeof import('../logging/logger');
  const { healthRoutes, startRouteServer } = require('../http/health') as typeof import('../http/health');
  const { createJobSystem } = require('../jobs/system') as typeof import('../jobs/system');
  const logger = createLogger().child({ process: 'worker' });
  let stopping: Promise<void> | undefined;
  let refusedQueueRedis = false;
  let stopNow: ((reason: string) => Promise<void>) | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });

  const system = createJobSystem(config, {
    logger,
    workers: settings.workers,
    ...(await optionalHooks(wiring, config, logger)),
    onFatal: (err) => {
      io.stderr(`redis-medic: ${err.message}`);
      process.exitCode = EXIT.usage;
      // May come while this function is still starting up: then it stops at the end of it.
      refusedQueueRedis = true;
      if (stopNow) void stopNow('refused queue Redis');
    },
  });
  // The monitor's poll may need the system (to enqueue diagnoses), so it is made after it.
  const monitorPoll = wiring.createMonitorPoll ? await wiring.createMonitorPoll(config, logger, system) : undefined;
  if (settings.queues?.includes('monitor') && !monitorPoll) {
    await system.close();
    throw new UsageError(
      '--queues monitor needs the incident monitor, which this build does not wire into `worker`; use `redis-medic start` or drop monitor',
    );
  }

  let health: RouteServer | undefined;
  if (settings.healthPort !== undefined) {
    try {
      health = await startRouteServer(healthRoutes(system, logger), { port: settings.healthPort, logger });
    } catch (err) {
      await system.close();
      throw new UsageError(`cannot serve /healthz on port ${settings.healthPort}: ${errorMessage(err)}`);
    }
    logger.info({ url: health.url }, `health and metrics on ${health.url}/healthz and ${health.url}/metrics`);
  }

  await system.startWorkers({ ...(settings.queues ? { queues: settings.queues } : {}), ...(monitorPoll ? { monitorPoll } : {}) });

  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, `worker stopping (${reason})`);
      await system.close();
      await health?.close();
      try {
        await wiring.close?.();
      } catch (err) {
        logger.warn({ error: errorMessage(err) }, `closing the worker wiring failed: ${errorMessage(err)}`);
      }
      logger.info('worker stopped');
      // Everything is closed, so the process ends by itself (within ~6 s: BullMQ's last blocking
      // wait and ioredis' socket close guards are timers); this one only catches a leak.
      setTimeout(() => {
        logger.warn(
          { resources: process.getActiveResourcesInfo() },
          `worker still has open handles ${LEAK_EXIT_MS / 1000} s after closing; exiting anyway`,
        );
        process.exit(process.exitCode ?? 0);
      }, LEAK_EXIT_MS).unref();
      resolveStopped();
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stopping) {
      void stop(signal);
      return;
    }
    // A second signal means "now": running jobs are left to the stalled-job check of other workers.
    logger.warn({ signal }, `${signal} again: exiting without waiting; running jobs will be recovered as stalled by other workers`);
    process.exit(EXIT.critical);
  };
  const onTerm = (): void => onSignal('SIGTERM');
  const onInt = (): void => onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  stopNow = stop;
  if (refusedQueueRedis) void stop('refused queue Redis');
  return { system, ...(health ? { health } : {}), stopped, stop };
}

interface ParsedWorkerSettings {
  queues?: QueueName[];
  healthPort?: number;
  workers: WorkerSettings;
}

/** Flags → settings, each checked with a message that names the flag (bad flags start nothing). */
export function workerSettings(options: WorkerCliOptions, config: Config): ParsedWorkerSettings {
  let queues: QueueName[] | undefined;
  if (options.queues !== undefined) {
    try {
      // The queue module loads BullMQ: required only when --queues is given.
      const { parseQueueNames } = require('../jobs/queues') as typeof import('../jobs/queues');
      queues = parseQueueNames(options.queues);
    } catch (err) {
      throw new UsageError(`--queues: ${errorMessage(err)}`);
    }
  }
  const concurrency = options.concurrency === undefined ? undefined : positiveInt('--concurrency', options.concurrency);
  const workers: WorkerSettings = {
    lockDurationMs: positiveInt('--lock-duration-ms', options.lockDurationMs ?? '30000'),
    stalledIntervalMs: positiveInt('--stalled-interval-ms', options.stalledIntervalMs ?? '30000'),
    shutdownGraceMs: positiveInt('--shutdown-grace-ms', options.shutdownGraceMs ?? '30000'),
    ...(concurrency ? { concurrency: { diagnose: concurrency, repair: concurrency, monitor: concurrency } } : {}),
  };
  void config;
  const out: ParsedWorkerSettings = { workers };
  if (queues) out.queues = queues;
  if (options.healthPort !== undefined) {
    const port = Number(options.healthPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--health-port must be a port number (0-65535), got "${options.healthPort}"`);
    out.healthPort = port;
  }
  return out;
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number, got "${text}"`);
  return n;
}

async function optionalHooks(wiring: WorkerWiring, config: Config, logger: Logger): Promise<{ hooks?: JobHooks }> {
  const hooks = wiring.createHooks ? await wiring.createHooks(config, logger) : undefined;
  return hooks ? { hooks } : {};
}
