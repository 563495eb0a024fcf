// Issue 11 §4: /healthz is served to whoever reaches the port; it must not echo the queue URL
// (host, user, password), neither when the queue Redis is up nor in an error it reports.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Gauge, Registry } from 'prom-client';
import { healthRoutes, startRouteServer, type RouteServer } from '../../../src/http/health';
import { createJobSystem, type JobSystem } from '../../../src/jobs/system';
import { silentLogger } from '../../../src/logging/logger';
import { freePort } from '../../helpers/cluster';
import { deletePrefix, jobsConfig, pollFor, QUEUE_REDIS_URL, testPrefix } from '../jobs/support';

describe('/healthz names no URL (issue 11 §4)', function () {
  this.timeout(20_000);
  let prefix: string;
  let system: JobSystem | undefined;
  let server: RouteServer | undefined;
  beforeEach(() => {
    prefix = testPrefix();
  });
  afterEach(async () => {
    await server?.close();
    await system?.close();
    server = undefined;
    system = undefined;
    await deletePrefix(prefix);
  });

  const serve = async (redisUrl: string): Promise<string> => {
    system = createJobSystem(jobsConfig(prefix, ['127.0.0.1:1'], {}, redisUrl), { logger: silentLogger, reconnectCapMs: 200 });
    server = await startRouteServer(healthRoutes(system), { port: 0, host: '127.0.0.1' });
    return `${server.url}/healthz`;
  };

  it('up: status and workers, no URL', async () => {
    const url = await serve(`${QUEUE_REDIS_URL}/0?db=0`);
    await system!.whenReady(5000);
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(JSON.parse(text).status, 'ok');
    assert.doesNotMatch(text, /redis:\/\/|6379/, text);
  });

  it('down, with a password in the URL: unhealthy, and neither the URL nor the password shows', async () => {
    const port = await freePort();
    const url = await serve(`redis://medic:s3cret@wd@127.0.0.1:${port}/0?password=s3cret2`);
    const text = await pollFor('/healthz to report unhealthy', async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      return res.status === 503 ? res.text() : undefined;
    });
    assert.equal(JSON.parse(text).queueRedis, 'down');
    assert.doesNotMatch(text, /redis:\/\/|s3cret|medic@|127\.0\.0\.1:\d/, text);
  });

  it('a check that fails with the raw URL in its message: /readyz, /healthz and /metrics show neither the URL nor the password', async () => {
    const port = await freePort();
    const secretUrl = `redis://medic:s3cret@wd@127.0.0.1:${port}/0?password=s3cret2`;
    // A real connection attempt to the password-bearing URL at a closed port, and an error that
    // quotes the URL as it was configured (as a careless message would).
    const reach = async (): Promise<never> => {
      const client = new Redis(secretUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined);
      try {
        await client.connect();
        throw new Error('the closed port answered');
      } catch (err) {
        throw new Error(`cannot reach the queue Redis at ${secretUrl}: ${(err as Error).message}`);
      } finally {
        client.disconnect();
      }
    };
    const metrics = new Registry();
    new Gauge({ name: 'i11_queue_depth', help: 'x', registers: [metrics], collect: reach });
    server = await startRouteServer(healthRoutes({ health: reach, metrics }), { port: 0, host: '127.0.0.1' });
    for (const route of ['/readyz', '/healthz', '/metrics']) {
      const res = await fetch(`${server.url}${route}`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      assert.ok(res.status >= 500, `${route}: ${res.status} ${text}`);
      assert.match(text, /ECONNREFUSED|URL not shown/, `${route}: ${text}`);
      assert.doesNotMatch(text, /redis:\/\/|s3cret|medic@|127\.0\.0\.1:\d/, `${route}: ${text}`);
    }
  });
});
