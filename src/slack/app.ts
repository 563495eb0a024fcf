import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, buildReceiverRoutes, HTTPReceiver, SocketModeReceiver, type CustomRoute, type Receiver } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/audit-log';
import type { Config } from '../config/schema';
import { ErrorCode, errorMessage, RedisMedicError } from '../errors';
import type { Enqueuer } from '../jobs/types';
import { createIncidentStore } from '../incidents/store';
import type { Logger } from '../logging/logger';
import { approvalSigningSecret, createApprovalSigner } from '../repair/approval';
import { createApprovalStore } from './approvals';
import { createApproverChecker } from './approvers';
import { createSilenceStore } from '../incidents/silences';
import { boltLogger } from './bolt-logger';
import { buttonKey, createButtonSigner } from './button-value';
import { rateLimitedMessage } from './blocks/command';
import { createClusterStates } from './cluster-states';
import type { SlackContext } from './context';
import { respondEphemeral, slackClientOptions } from './http-client';
import { PASTE_BLOCK } from './ids';
import { createInflightDiagnoses } from './inflight-diagnoses';
import { register as registerActions } from './listeners/actions';
import { register as registerCommands } from './listeners/commands';
import { register as registerViews } from './listeners/views';
import { createSlackNotifier, type SlackNotifier } from './notifier';
import { createRateLimiter, rateLimitMiddleware } from './rate-limit';
import { createRequestGuard } from './request-guard';

export const SLACK_EVENTS_PATH = '/slack/events';
const SOCKET_MODE_CONNECT_WAIT_MS = 30_000;

export interface SlackAppDeps {
  config: Config;
  logger: Logger;
  enqueuer: Enqueuer;
  /** The queue Redis: approvals, the replay guard and the audit stream live there. */
  redis: Redis;
  audit: AuditLog;
  /** Routes served on the same port (/healthz, /metrics, /alerts from other modules). */
  customRoutes?: CustomRoute[];
  now?: () => number;
}

export interface SlackApp {
  app: App;
  /** Posts diagnoses; also the JobHooks for workers running in this process. */
  notifier: SlackNotifier;
  /** Port 0 picks a free port; resolves with the port actually bound. */
  start(port?: number): Promise<{ port: number }>;
  /** Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The Slack app: Bolt with its HTTP receiver behind our own server (so every request passes
 * the replay guard before Bolt sees it), or Socket Mode when an app token is configured.
 * Listeners only ack, check and enqueue; workers do the Redis Cluster work.
 */
export function createSlackApp(deps: SlackAppDeps): SlackApp {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ component: 'slack-app' });
  const socketMode = Boolean(config.slack.appToken);
  const botToken = config.slack.botToken;
  if (!botToken) throw new RedisMedicError(ErrorCode.ConfigError, 'the Slack app needs SLACK_BOT_TOKEN (slack.botToken)');
  const signingSecret = config.slack.signingSecret;
  if (!socketMode && !signingSecret) {
    throw new RedisMedicError(
      ErrorCode.ConfigError,
      'the Slack app needs SLACK_SIGNING_SECRET (slack.signingSecret) to verify requests, or SLACK_APP_TOKEN for Socket Mode',
    );
  }

  const bolt = boltLogger(logger);
  const clientOptions = slackClientOptions(config);
  const customRoutes = deps.customRoutes ?? [];
  let receiver: Receiver;
  let httpReceiver: HTTPReceiver | undefined;
  if (socketMode) {
    receiver = new SocketModeReceiver({ appToken: config.slack.appToken!, logger: bolt, installerOptions: { clientOptions } });
  } else {
    httpReceiver = new HTTPReceiver({ signingSecret: signingSecret!, endpoints: [SLACK_EVENTS_PATH], customRoutes, logger: bolt });
    receiver = httpReceiver;
  }
  const app = new App({ receiver, token: botToken, logger: bolt, clientOptions });
  app.error(async (error) => {
    logger.error({ err: errorMessage(error), code: (error as { code?: string }).code }, 'slack listener failed');
  });

  const signer = createButtonSigner(buttonKey(config, logger));
  // buttonKey has just required one of the two secrets, so there is a key.
  const approvalSigner = createApprovalSigner(approvalSigningSecret(config)!);
  const notifier = createSlackNotifier({
    config,
    logger: deps.logger,
    client: app.client,
    redis: deps.redis,
    audit: deps.audit,
    now,
    signer,
  });
  const ctx: SlackContext = {
    config,
    logger: deps.logger,
    enqueuer: deps.enqueuer,
    audit: deps.audit,
    client: app.client,
    approvals: createApprovalStore(deps.redis, config.queue.prefix, config.approvals.expiryMs),
    states: createClusterStates(deps.redis, config.queue.prefix),
    inflight: createInflightDiagnoses(deps.redis, config.queue.prefix),
    incidents: createIncidentStore(deps.redis, config.queue.prefix),
    silences: createSilenceStore(deps.redis, config.queue.prefix),
    signer,
    approvalSigner,
    isApprover: createApproverChecker({ client: app.client, logger: deps.logger, now }),
    notifier,
    now,
  };
  // Before every listener: a person (or a script with their token) gets a fair share, no more.
  const rateLimit = config.slack.rateLimit;
  app.use(
    rateLimitMiddleware({
      limiter: createRateLimiter(deps.redis, config.queue.prefix, rateLimit, now),
      policy: rateLimit,
      message: (retryAfterMs) => rateLimitedMessage(rateLimit, retryAfterMs),
      viewErrorBlock: PASTE_BLOCK,
      respond: (url, message) => respondEphemeral(url, message as Parameters<typeof respondEphemeral>[1], logger),
      onRefused: (user, kind) => logger.warn({ user, kind, limit: rateLimit }, 'slack request refused: per-user rate limit'),
    }) as unknown as Parameters<App['use']>[0],
  );
  registerCommands(app, ctx);
  registerActions(app, ctx);
  registerViews(app, ctx);

  const guard = signingSecret
    ? createRequestGuard({ redis: deps.redis, prefix: config.queue.prefix, signingSecret, audit: deps.audit, logger: deps.logger, now })
    : undefined;
  const routes = buildReceiverRoutes(customRoutes);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const method = (req.method ?? 'GET').toUpperCase();
    if (httpReceiver && guard && path === SLACK_EVENTS_PATH && method === 'POST') {
      guard(req, res)
        .then((verdict) => {
          if (verdict === 'pass') dispatch(httpReceiver!, req, res);
        })
        .catch((err: unknown) => {
          logger.error({ err: errorMessage(err) }, 'slack request guard failed');
          if (!res.headersSent) {
            res.writeHead(500);
            res.end();
          }
        });
      return;
    }
    if (httpReceiver) {
      dispatch(httpReceiver, req, res);
      return;
    }
    // Socket Mode: Slack's traffic comes over the websocket; this port only serves our routes.
    const handler = routes[path]?.[method];
    if (handler) {
      handler(Object.assign(req, { params: {} }), res);
      return;
    }
    res.writeHead(404);
    res.end();
  };

  const dispatch = (target: HTTPReceiver, req: IncomingMessage, res: ServerResponse): void => {
    try {
      target.requestListener(req, res);
    } catch (err) {
      // Bolt throws for paths it does not serve (HTTPReceiverDeferredRequestError).
      if (!res.headersSent) {
        res.writeHead((err as { code?: string }).code === 'slack_bolt_http_receiver_deferred_request_error' ? 404 : 500);
        res.end();
      }
    }
  };

  /**
   * Socket Mode's start resolves once Slack greets the socket, and keeps retrying while Slack is
   * unreachable: wait a bounded time, then let it keep trying in the background. A refused token
   * fails at once, so a wrong SLACK_APP_TOKEN still stops the start.
   */
  const connectSocketMode = async (): Promise<void> => {
    const connecting = app.start() as Promise<unknown>;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      connecting.then(() => 'connected' as const),
      new Promise<'waiting'>((resolve) => {
        timer = setTimeout(() => resolve('waiting'), SOCKET_MODE_CONNECT_WAIT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    if (waited === 'waiting') {
      logger.warn(`Socket Mode is not connected after ${SOCKET_MODE_CONNECT_WAIT_MS / 1000} s; still trying in the background`);
      connecting.then(
        () => logger.info('Socket Mode connected'),
        (err: unknown) => logger.error({ err: errorMessage(err) }, 'Socket Mode could not connect'),
      );
    }
  };

  let server: http.Server | undefined;
  let stopping: Promise<void> | undefined;
  return {
    app,
    notifier,
    async start(port = config.http.port) {
      if (server) throw new RedisMedicError(ErrorCode.ConfigError, 'the Slack app is already started');
      const created = http.createServer(handle);
      // Bounded: a client that never finishes its request must not hold a socket forever.
      created.requestTimeout = 15_000;
      created.headersTimeout = 10_000;
      await new Promise<void>((resolve, reject) => {
        created.once('error', reject);
        created.listen(port, () => {
          created.off('error', reject);
          resolve();
        });
      });
      server = created;
      if (socketMode) await connectSocketMode();
      const bound = (created.address() as AddressInfo).port;
      logger.info(
        { port: bound, mode: socketMode ? 'socket' : 'http', path: socketMode ? undefined : SLACK_EVENTS_PATH },
        'slack app listening',
      );
      return { port: bound };
    },
    stop() {
      stopping ??= (async () => {
        if (socketMode) await app.stop().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'socket mode stop failed'));
        const current = server;
        if (!current) return;
        await new Promise<void>((resolve) => {
          current.close(() => resolve());
          current.closeAllConnections();
        });
        server = undefined;
      })();
      return stopping;
    },
  };
}
