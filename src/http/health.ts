import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CustomRoute } from '@slack/bolt';
import type { Registry } from 'prom-client';
import { errorMessage } from '../errors';
import type { JobSystemHealth } from '../jobs/system';
import { silentLogger, type Logger } from '../logging/logger';

/** What the health routes need from the job system. */
export interface HealthSource {
  health(): Promise<JobSystemHealth>;
  metrics: Registry;
}

/** The health body in its HTTP form: status first, so a probe or a human reads it at a glance. */
export async function healthBody(source: HealthSource): Promise<{ code: number; body: Record<string, unknown> }> {
  const health = await source.health();
  const detail = { ...health.detail };
  // Error texts may quote REDIS_URL (a refusal at start-up does): never echo it, even redacted.
  if (detail.error) detail.error = withoutUrls(detail.error);
  return {
    code: health.ok ? 200 : 503,
    body: { status: health.ok ? 'ok' : 'unhealthy', queueRedis: health.queueRedis, ...detail },
  };
}

/**
 * GET /healthz: 200 {"status":"ok",...} or 503 {"status":"unhealthy","queueRedis":"down",...}.
 * GET /metrics: the Prometheus registry of the job system, in text format.
 * Bolt custom routes (`new App({ customRoutes: healthRoutes(system) })`); the worker process
 * serves the same routes with startRouteServer.
 */
export function healthRoutes(
  source: HealthSource,
  logger: Logger = silentLogger,
  options: { stopping?: () => boolean } = {},
): CustomRoute[] {
  const stopping = options.stopping ?? (() => false);
  return [
    // Liveness: the process answers HTTP. A queue Redis outage is not a reason to restart it.
    {
      path: '/livez',
      method: ['GET'],
      handler: (_req, res) => sendJson(res, 200, { status: 'alive' }),
    },
    // Readiness: take traffic only while the queue Redis answers and the process is not stopping.
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        if (stopping()) return sendJson(res, 503, { status: 'stopping' });
        healthBody(source).then(
          ({ code, body }) => sendJson(res, code, { ...body, status: code === 200 ? 'ready' : 'not ready' }),
          (err: unknown) => {
            logger.error({ error: withoutUrls(errorMessage(err)) }, 'readiness check failed');
            sendJson(res, 503, { status: 'not ready', error: withoutUrls(errorMessage(err)) });
          },
        );
      },
    },
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req, res) => {
        healthBody(source).then(
          ({ code, body }) => sendJson(res, code, body),
          (err: unknown) => {
            logger.error({ error: withoutUrls(errorMessage(err)) }, 'health check failed');
            sendJson(res, 503, { status: 'unhealthy', error: withoutUrls(errorMessage(err)) });
          },
        );
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: (_req, res) => {
        source.metrics.metrics().then(
          (text) => {
            res.writeHead(200, { 'Content-Type': source.metrics.contentType });
            res.end(text);
          },
          (err: unknown) => {
            logger.error({ error: withoutUrls(errorMessage(err)) }, 'metrics scrape failed');
            res.writeHead(500, { 'Content-Type': 'text/plain' });
            res.end(`metrics unavailable: ${withoutUrls(errorMessage(err))}\n`);
          },
        );
      },
    },
  ];
}

export interface RouteServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A plain HTTP server for custom routes, for processes without the Slack app (`worker`): same
 * handlers, exact paths, GET/HEAD, 404 and 405 otherwise.
 */
export async function startRouteServer(
  routes: CustomRoute[],
  options: { port: number; host?: string; logger?: Logger },
): Promise<RouteServer> {
  const logger = options.logger ?? silentLogger;
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes.find((r) => r.path === path);
    if (!route) return sendJson(res, 404, { error: `no route ${path}` });
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
    if (!methods.includes(req.method ?? 'GET')) {
      res.setHeader('Allow', methods.join(', '));
      return sendJson(res, 405, { error: `${req.method} not allowed on ${path}` });
    }
    try {
      route.handler(Object.assign(req, { params: {} }), res);
    } catch (err) {
      logger.error({ error: errorMessage(err), path }, 'route handler threw');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    }
  });
  // A hung client must not keep the process from shutting down.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * The probe routes name no URL at all: the host, user and password of the queue Redis are
 * nobody's business. Every error text they answer or log goes through this, whichever path
 * (a health body, a rejected check, a failed scrape) it took.
 */
function withoutUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)]+/gi, '(URL not shown)');
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}
