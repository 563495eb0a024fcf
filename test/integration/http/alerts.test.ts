// The alert routes over real HTTP (a plain http.createServer, as the integrator may mount them),
// with a recording Enqueuer and the real audit stream on the queue Redis.
import assert from 'node:assert/strict';
import http from 'node:http';
import { Redis } from 'ioredis';
import { createAuditLog, type AuditLog } from '../../../src/audit/audit-log';
import { parseConfig } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';
import { alertRoutes } from '../../../src/http/alerts';
import { startRouteServer, type RouteServer } from '../../../src/http/health';
import type { MonitorJobData } from '../../../src/jobs/types';
import { silentLogger } from '../../../src/logging/logger';
import { deleteKeys, testPrefix } from '../incidents/harness';

const TOKEN = 'alert-token-0123456789';

interface Reply {
  status: number;
  body: any;
  headers: http.IncomingHttpHeaders;
}

describe('http/alerts over real HTTP', () => {
  let server: RouteServer;
  let base: string;
  let enqueued: MonitorJobData[];
  let failEnqueue: boolean;
  let redis: Redis;
  let audit: AuditLog;
  let prefix: string;

  async function start(alerts: Record<string, unknown>): Promise<void> {
    const config: Config = parseConfig({
      clusters: [
        { name: 'payments', seeds: ['10.0.0.31:6379'] },
        { name: 'cache', seeds: ['10.0.1.5:6379'] },
      ],
      alerts: { maxBodyBytes: 4096, ...alerts },
    });
    const enqueuer = {
      async enqueueMonitorPoll(data: MonitorJobData): Promise<string> {
        if (failEnqueue) throw new Error('queue Redis unavailable');
        enqueued.push(data);
        return `job-${enqueued.length}`;
      },
    };
    // The production router (src/http/health.ts), as `start` runs it without Slack.
    server = await startRouteServer(alertRoutes({ config, logger: silentLogger, enqueuer, audit }), { port: 0, host: '127.0.0.1' });
    base = server.url;
  }

  beforeEach(() => {
    enqueued = [];
    failEnqueue = false;
    prefix = testPrefix();
    redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1, commandTimeout: 2000 });
    audit = createAuditLog(redis, prefix, silentLogger);
  });

  afterEach(async () => {
    await server.close();
    redis.disconnect();
    await deleteKeys(prefix);
  });

  async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<Reply> {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: Object.fromEntries(res.headers) };
  }

  const firing = {
    version: '4',
    status: 'firing',
    groupLabels: {},
    commonLabels: { alertname: 'RedisClusterDown' },
    commonAnnotations: {},
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'RedisClusterDown', redis_cluster: 'payments' },
        annotations: { summary: 'cluster_state:fail' },
      },
    ],
  };

  it('Alertmanager firing: 202 with the job id, an immediate diagnosis queued, the alert audited', async () => {
    await start({ webhookToken: TOKEN });
    const reply = await post('/alerts/alertmanager', firing);
    assert.equal(reply.status, 202);
    assert.deepEqual(reply.body, { accepted: [{ cluster: 'payments', reason: 'alert', jobId: 'job-1' }] });
    const key = enqueued[0]?.alerts?.[0]?.key ?? '';
    assert.match(key, /^labels:[0-9a-f]{16}$/);
    assert.deepEqual(enqueued, [
      {
        cluster: 'payments',
        reason: 'alert',
        alert: { source: 'alertmanager', status: 'firing', summary: 'cluster_state:fail' },
        alerts: [{ key, source: 'alertmanager', name: 'RedisClusterDown', status: 'firing', summary: 'cluster_state:fail' }],
      },
    ]);
    const records = await audit.read();
    assert.deepEqual(
      records.map((r) => [r.action, r.cluster, r.actor, r.details?.jobId]),
      [['alert.received', 'payments', 'alertmanager', 'job-1']],
    );
  });

  it('Alertmanager resolved: a recheck', async () => {
    await start({ webhookToken: TOKEN });
    const reply = await post('/alerts/alertmanager', {
      ...firing,
      status: 'resolved',
      alerts: [{ ...firing.alerts[0], status: 'resolved' }],
    });
    assert.equal(reply.status, 202);
    assert.equal(enqueued[0]?.reason, 'recheck');
  });

  it('plain POST /alerts with {cluster}', async () => {
    await start({ webhookToken: TOKEN });
    const reply = await post('/alerts', { cluster: 'cache', source: 'grafana' });
    assert.equal(reply.status, 202);
    const key = enqueued[0]?.alerts?.[0]?.key ?? '';
    assert.match(key, /^said:[0-9a-f]{16}$/);
    assert.deepEqual(enqueued, [
      {
        cluster: 'cache',
        reason: 'alert',
        alert: { source: 'grafana', status: 'firing' },
        alerts: [{ key, source: 'grafana', name: 'grafana', status: 'firing' }],
      },
    ]);
  });

  it('bad or missing token: 401, nothing queued, nothing written', async () => {
    await start({ webhookToken: TOKEN });
    for (const headers of [{ authorization: 'Bearer not-the-token-xyz' }, {}, { authorization: TOKEN }] as Array<Record<string, string>>) {
      const reply = await post('/alerts/alertmanager', firing, headers);
      assert.equal(reply.status, 401);
      assert.deepEqual(reply.body, { error: 'missing or wrong bearer token' });
      assert.equal(reply.headers['www-authenticate'], 'Bearer');
    }
    assert.equal((await post('/alerts', { cluster: 'payments' }, { authorization: 'Bearer nope' })).status, 401);
    assert.deepEqual(enqueued, []);
    assert.deepEqual(await audit.read(), [], 'unauthenticated requests cannot write to the audit stream');
  });

  it('no token configured: the intake is off and says how to turn it on (503)', async () => {
    await start({});
    const reply = await post('/alerts/alertmanager', firing);
    assert.equal(reply.status, 503);
    assert.deepEqual(reply.body, { error: 'alert intake disabled: set ALERT_WEBHOOK_TOKEN' });
    assert.deepEqual(enqueued, []);
  });

  it('unknown cluster: 422 with the reason; nothing queued even for the known one in the same payload', async () => {
    await start({ webhookToken: TOKEN });
    const reply = await post('/alerts/alertmanager', {
      ...firing,
      alerts: [firing.alerts[0], { status: 'firing', labels: { redis_cluster: 'x' }, annotations: {} }],
    });
    assert.equal(reply.status, 422);
    assert.deepEqual(reply.body, { error: 'unknown cluster "x"; known: payments, cache' });
    assert.equal((await post('/alerts', { cluster: 'x' })).status, 422);
    assert.deepEqual(enqueued, []);
  });

  it('malformed JSON and wrong shapes: 400', async () => {
    await start({ webhookToken: TOKEN });
    const bad = await post('/alerts/alertmanager', '{"status": "firing", ');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^malformed JSON/);
    assert.equal((await post('/alerts/alertmanager', { hello: 'world' })).status, 400);
    assert.equal((await post('/alerts', { cluster: 42 })).status, 400);
    assert.deepEqual(enqueued, []);
  });

  it('a body over the limit: 413 from its Content-Length, before reading it', async () => {
    await start({ webhookToken: TOKEN });
    const reply = await post('/alerts/alertmanager', { ...firing, padding: 'x'.repeat(5000) });
    assert.equal(reply.status, 413);
    assert.match(reply.body.error, /body too large: \d+ bytes, the limit is 4096/);
    assert.deepEqual(enqueued, []);
  });

  it('a chunked body over the limit: 413 as soon as the limit is passed, while the sender is still sending', async () => {
    await start({ webhookToken: TOKEN });
    const url = new URL(`${base}/alerts/alertmanager`);
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          timeout: 5000,
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 5 s: the server waited for the rest of the body')));
      req.on('error', reject);
      // More than the limit, and the request is never ended: only an early answer gets us out.
      req.write(`{"padding":"${'x'.repeat(5000)}`);
    });
    assert.equal(reply.status, 413);
    assert.match(reply.body, /body too large: over 4096 bytes/);
    assert.deepEqual(enqueued, []);
  });

  it('the queue is down: 503 saying so', async () => {
    await start({ webhookToken: TOKEN });
    failEnqueue = true;
    const reply = await post('/alerts/alertmanager', firing);
    assert.equal(reply.status, 503);
    assert.match(reply.body.error, /could not queue the check: queue Redis unavailable/);
  });

  it('other methods and paths', async () => {
    await start({ webhookToken: TOKEN });
    const get = await fetch(`${base}/alerts/alertmanager`, { signal: AbortSignal.timeout(5000) });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const missing = await fetch(`${base}/nope`, { method: 'POST', signal: AbortSignal.timeout(5000) });
    assert.equal(missing.status, 404);
  });
});
