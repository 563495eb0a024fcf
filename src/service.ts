import type { CustomRoute } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { createAuditLog, type AuditLog } from './audit/audit-log';
import type { Config } from './config/schema';
import { alertRoutes } from './http/alerts';
import { healthRoutes, startRouteServer, type RouteServer } from './http/health';
import { createMonitorPoll, type MonitorPoll } from './incidents/monitor';
import { diagnoseOnProbeThread, stopProbeThread } from './incidents/probe-thread';
import { lastKnownKeysLookup } from './incidents/store';
import { createQueueConnection } from './jobs/connection';
import { createJobSystem, type JobSystem, type WorkerSettings } from './jobs/system';
import type { JobHooks } from './jobs/types';
import type { Logger } from './logging/logger';
import { createSlackApp, type SlackApp } from './slack/app';
import { createSlackIncidentPublisher } from './slack/incident-publisher';
import { createSlackNotifier } from './slack/notifier';
import { createSlackWebClient } from './slack/web-client';
import { onSlackApiError } from './slack/http-client';
import { countingHooks, createDomainMetrics, type DomainMetrics } from './metrics/domain';
import { observePolls } from './incidents/poll-observers';
import { createPager, type Pager } from './paging/pager';

export interface ServiceOptions {
  logger: Logger;
  /** HTTP port for Slack, /healthz, /metrics and /alerts (default config.http.port; 0 = any free port). */
  port?: number;
  workers?: WorkerSettings;
  /** Start the workers and the monitor's schedulers in this process (default true). */
  withWorkers?: boolean;
  now?: () => number;
  /** Port for /livez, /readyz, /healthz and /metrics apart from the main one (default config.http.internalPort). */
  internalPort?: number;
}

export interface RunningService {
  port: number;
  url: string;
  /** Where the probes and /metrics are: the internal server when there is one, else `url`. */
  internalUrl: string;
  system: JobSystem;
  slack?: SlackApp;
  audit: AuditLog;
  /** The pagers of this process (when a cluster configures paging and the monitor runs here). */
  pager?: Pager;
  /** Idempotent: stops taking requests and jobs, lets running jobs finish, closes connections. */
  stop(reason?: string): Promise<void>;
}

/**
 * The composition root of `redis-medic start`: one process with the Slack app (when Slack is
 * configured), the HTTP routes, the job workers and the monitor's schedulers. Request handlers
 * only enqueue; every touch of a cluster happens in a worker.
 */
export async function startService(config: Config, options: ServiceOptions): Promise<RunningService> {
  const logger = options.logger;
  const withWorkers = options.withWorkers ?? true;
  // App state (approvals, replay guard, incidents, audit) lives in the queue Redis too.
  const redis: Redis = createQueueConnection(config.queue.redisUrl, { role: 'producer', name: `redis-medic-app-${process.pid}` });
  const audit = createAuditLog(redis, config.queue.prefix, logger);

  // Workers report to Slack through the notifier, which needs the app's client, which needs the
  // job system's enqueuer: the hooks forward to whatever notifier is current.
  let hooks: JobHooks = {};
  const metrics = createDomainMetrics({ config, redis });
  const stopCountingSlackErrors = onSlackApiError((method, error) => metrics.onSlackApiError(method, error));
  const forwardingHooks: JobHooks = countingHooks(
    {
      onDiagnoseProgress: (...a) => hooks.onDiagnoseProgress?.(...a) ?? Promise.resolve(),
      onDiagnosisDone: (...a) => hooks.onDiagnosisDone?.(...a) ?? Promise.resolve(),
      onDiagnosisFailed: (...a) => hooks.onDiagnosisFailed?.(...a) ?? Promise.resolve(),
      onRepairProgress: (...a) => hooks.onRepairProgress?.(...a) ?? Promise.resolve(),
      onRepairDone: (...a) => hooks.onRepairDone?.(...a) ?? Promise.resolve(),
    },
    () => metrics,
  );
  const system = createJobSystem(config, {
    logger,
    audit,
    hooks: forwardingHooks,
    // On the monitor's probe thread, like its polls: a /redis-diagnose of a 1000-node cluster, and a
    // repair's re-check before its steps and report after them, read 126 MB and parse a million
    // lines, none of it on the loop that acks Slack. Plans for a dead master's slots quote the key
    // count the monitor last saw on it (the re-check too, so the plan reads as it was approved).
    diagnose: (cluster, cfg) =>
      diagnoseOnProbeThread(
        { cluster, config: cfg, seeds: cluster.seeds },
        lastKnownKeysLookup(redis, config.queue.prefix, cluster.name),
        logger,
      ),
    ...(options.workers ? { workers: options.workers } : {}),
    onFatal: (err) => {
      logger.fatal({ err: err.message }, `refusing to run: ${err.message}`);
      process.exitCode = 2;
      void stop('refused queue Redis');
    },
  });

  metrics.attach(system.metrics);
  // Probes and metrics go on the internal port when one is set (never exposed with the Slack
  // port), else on the main port beside Slack and /alerts.
  let stopping: Promise<void> | undefined;
  const probeRoutes = healthRoutes(system, logger, { stopping: () => stopping !== undefined });
  const internalPort = options.internalPort ?? config.http.internalPort;
  let internalServer: RouteServer | undefined;
  if (internalPort !== undefined) {
    internalServer = await startRouteServer(probeRoutes, { port: internalPort, logger });
    logger.info({ port: internalServer.port }, `probes and metrics on port ${internalServer.port} (/livez, /readyz, /healthz, /metrics)`);
  }
  const routes: CustomRoute[] = [
    ...(internalServer ? [] : probeRoutes),
    ...alertRoutes({ config, logger, enqueuer: system.enqueuer, audit }),
  ];
  let slack: SlackApp | undefined;
  let plainServer: RouteServer | undefined;
  let port: number;
  const requestedPort = options.port ?? config.http.port;
  if (config.slack.botToken) {
    slack = createSlackApp({
      config,
      logger,
      enqueuer: system.enqueuer,
      redis,
      audit,
      customRoutes: routes,
      ...(options.now ? { now: options.now } : {}),
    });
    ({ port } = await slack.start(requestedPort));
    hooks = slack.notifier;
    logger.info({ port, socketMode: Boolean(config.slack.appToken) }, `Slack app listening on port ${port}`);
  } else {
    plainServer = await startRouteServer(routes, { port: requestedPort, logger });
    port = plainServer.port;
    logger.warn(
      { port },
      `Slack is not configured (no SLACK_BOT_TOKEN): serving /healthz, /metrics and /alerts on port ${port}; diagnoses and incidents are kept in the queue and the logs`,
    );
  }

  // Pages go out from the process whose monitor made the decision (one per incident change).
  let pager: Pager | undefined;
  if (withWorkers) {
    pager = config.monitor.enabled ? createPager({ config, logger }) : undefined;
    const monitorPoll: MonitorPoll | undefined = config.monitor.enabled
      ? observePolls(
          createMonitorPoll({
            config,
            logger,
            redis,
            audit,
            ...(slack ? { publisher: createSlackIncidentPublisher({ config, logger, redis }) } : {}),
            ...(options.now ? { now: options.now } : {}),
          }),
          pager ? [metrics.onPoll, pager.onPoll] : [metrics.onPoll],
          logger,
          options.now,
        )
      : undefined;
    await system.startWorkers(monitorPoll ? { monitorPoll } : {});
    if (monitorPoll && config.clusters.length > 0) await system.startSchedulers();
  }
  logger.info(
    {
      clusters: config.clusters.map((c) => c.name),
      queue: system.target.display,
      workers: withWorkers,
      monitor: withWorkers && config.monitor.enabled,
    },
    'redis-medic started',
  );

  const stop = (reason = 'stop'): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, `redis-medic stopping (${reason})`);
      // Stop taking requests first, then jobs (running ones finish), then close the app's Redis.
      await slack?.stop();
      await plainServer?.close();
      await system.close();
      // A poll the workers handed back on shutdown may still run on the probe thread: it ends here.
      await stopProbeThread('redis-medic is stopping');
      // Pages under way get a moment to land; what cannot is logged as not delivered.
      await pager?.close();
      await internalServer?.close();
      stopCountingSlackErrors();
      await redis.quit().catch(() => redis.disconnect());
      logger.info('redis-medic stopped');
    })();
    return stopping;
  };
  const url = `http://127.0.0.1:${port}`;
  return {
    port,
    url,
    internalUrl: internalServer?.url ?? url,
    system,
    ...(slack ? { slack } : {}),
    ...(pager ? { pager } : {}),
    audit,
    stop,
  };
}

/**
 * What `redis-medic worker` on another host needs to post to Slack and run the monitor. The
 * monitor shares the job system's producer connection; the hooks (made before the job system)
 * open one of their own, closed by close().
 */
/**
 * What a worker process needs beyond the job system, supplied by whoever wires the app: hooks
 * that post to Slack (when Slack is configured) and the incident monitor's poll. Without them
 * a worker still diagnoses and repairs; results stay readable by job id.
 */
export interface WorkerWiring {
  createHooks?: (config: Config, logger: Logger) => JobHooks | undefined | Promise<JobHooks | undefined>;
  createMonitorPoll?: (config: Config, logger: Logger, system: JobSystem) => MonitorPoll | undefined | Promise<MonitorPoll | undefined>;
  /**
   * Closes whatever the factories opened (connections, clients), after the workers have stopped.
   * Without it, a connection they opened keeps the process alive after SIGTERM (until the 5 s
   * safety exit). Factories may also use system.redis, which the job system closes itself.
   */
  close?: () => Promise<void> | void;
}

export function createWorkerWiring(): WorkerWiring {
  const opened: Redis[] = [];
  // Made with the job system (createMonitorPoll gets it); the hooks, made before, count through it.
  let metrics: DomainMetrics | undefined;
  let stopCountingSlackErrors: (() => void) | undefined;
  let pager: Pager | undefined;
  return {
    createHooks(config, logger) {
      if (!config.slack.botToken) return countingHooks(undefined, () => metrics);
      const redis = createQueueConnection(config.queue.redisUrl, { role: 'producer', name: `redis-medic-worker-hooks-${process.pid}` });
      opened.push(redis);
      return countingHooks(
        createSlackNotifier({
          config,
          logger,
          client: createSlackWebClient(config),
          redis,
          audit: createAuditLog(redis, config.queue.prefix, logger),
        }),
        () => metrics,
      );
    },
    createMonitorPoll(config, logger, system) {
      const redis = system.redis;
      const domain = createDomainMetrics({ config, redis });
      metrics = domain;
      domain.attach(system.metrics);
      stopCountingSlackErrors = onSlackApiError((method, error) => domain.onSlackApiError(method, error));
      if (!config.monitor.enabled) return undefined;
      const audit = createAuditLog(redis, config.queue.prefix, logger);
      pager = createPager({ config, logger });
      const observers = pager ? [domain.onPoll, pager.onPoll] : [domain.onPoll];
      if (!config.slack.botToken) return observePolls(createMonitorPoll({ config, logger, redis, audit }), observers, logger);
      return observePolls(
        createMonitorPoll({ config, logger, redis, audit, publisher: createSlackIncidentPublisher({ config, logger, redis }) }),
        observers,
        logger,
      );
    },
    async close() {
      stopCountingSlackErrors?.();
      await stopProbeThread('redis-medic worker is stopping');
      await pager?.close();
      await Promise.all(opened.splice(0).map((redis) => redis.quit().catch(() => redis.disconnect())));
    },
  };
}
