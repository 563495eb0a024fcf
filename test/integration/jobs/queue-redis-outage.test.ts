// The queue Redis goes away and comes back, for real: a throwaway redis-server on a free port,
// not started, then started, killed and restarted under a running `redis-medic worker`. The
// worker says so once per outage, /healthz follows, jobs flow again, nothing crash-loops.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createJobSystem, type JobSystem } from '../../../src/jobs/system';
import { silentLogger } from '../../../src/logging/logger';
import { freePort, useCluster } from '../../helpers/cluster';
import { trackProcess } from '../../helpers/processes';
import { startWorkerProcess, waitForExit, type LogLine, type WorkerProcess } from '../../helpers/worker-process';
import { jobsConfig, pollFor, testPrefix } from './support';

interface ThrowawayRedis {
  start(): Promise<void>;
  kill(): Promise<void>;
}

function throwawayRedis(port: number, dir: string): ThrowawayRedis {
  let child: ChildProcess | undefined;
  return {
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
        stdio: 'ignore',
      });
      trackProcess(child);
      const { Redis } = await import('ioredis');
      await pollFor(`redis-server on port ${port} to answer`, async () => {
        const probe = new Redis(port, '127.0.0.1', {
          lazyConnect: true,
          connectTimeout: 500,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG' ? true : undefined;
        } finally {
          probe.disconnect();
        }
      });
    },
    async kill() {
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        current.once('exit', () => resolve());
        current.kill('SIGKILL');
      });
    },
  };
}

describe('queue Redis outages (real redis-server stopped and restarted)', function () {
  this.timeout(60_000);
  const cluster = useCluster({ masters: 3 });
  let worker: WorkerProcess | undefined;
  let producer: JobSystem | undefined;
  let redis: ThrowawayRedis | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await worker?.kill();
    await producer?.close();
    await redis?.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('down at start-up, then up, then down and up again: one log line per outage, /healthz follows, jobs flow', async () => {
    const port = await freePort();
    dir = await mkdtemp(path.join(os.tmpdir(), 'redis-medic-queue-'));
    redis = throwawayRedis(port, dir);
    const url = `redis://127.0.0.1:${port}`;
    const prefix = testPrefix();
    worker = await startWorkerProcess({
      config: { clusters: [{ name: 'test', seeds: [cluster().seeds[0]!] }], monitor: { enabled: false } },
      redisUrl: url,
      queuePrefix: prefix,
      args: ['--health-port', '0', '--concurrency', '2'],
    });
    const w = worker;
    const healthUrl = String((await w.waitForLog((l) => /^health and metrics on/.test(l.msg), { what: 'the health server' })).url);
    const health = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${healthUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const outageLines = (): LogLine[] => w.lines.filter((l) => l.msg.startsWith(`queue Redis ${url} is unreachable`));
    const backLines = (): LogLine[] => w.lines.filter((l) => l.msg.startsWith(`queue Redis ${url} is back after`));
    /** Down for a while: several reconnect attempts made, still one line. */
    const expectDown = async (outages: number): Promise<void> => {
      const down = await pollFor(
        '/healthz to report the queue Redis down after several reconnect attempts',
        async () => {
          const h = await health();
          return h.status === 503 && h.body.queueRedis === 'down' && Number(h.body.reconnectAttempts) >= 4 ? h : undefined;
        },
        30_000,
      );
      assert.equal(down.body.status, 'unhealthy');
      assert.match(String(down.body.error), /ECONNREFUSED|connection (lost|closed)|Connection is closed/);
      assert.equal(
        outageLines().length,
        outages,
        `one log line per outage, got:\n${outageLines()
          .map((l) => l.msg)
          .join('\n')}`,
      );
    };
    const expectUp = async (): Promise<void> => {
      const up = await pollFor(
        '/healthz to report ok',
        async () => {
          const h = await health();
          return h.status === 200 ? h : undefined;
        },
        30_000,
      );
      assert.equal(up.body.status, 'ok');
      assert.equal(up.body.queueRedis, 'up');
    };

    // 1. Nothing listens yet: the worker runs, says so once, and is unhealthy.
    await expectDown(1);
    assert.match(outageLines()[0]!.msg, /ECONNREFUSED.*reconnecting with backoff/);
    assert.equal(w.child.exitCode, null, 'the worker keeps running');

    // 2. The queue Redis comes up: healthy, and jobs are processed.
    await redis.start();
    await expectUp();
    await w.waitForLog((l) => /^taking jobs from diagnose/.test(l.msg), { what: 'the workers to start taking jobs' });
    producer = createJobSystem(jobsConfig(prefix, [cluster().seeds[0]!], {}, url), { logger: silentLogger });
    await producer.whenReady();
    const first = await producer.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'monitor' } });
    assert.equal((await producer.waitForJob('diagnose', first, 20_000)).state, 'completed');

    // 3. It dies: one more line, unhealthy again; enqueues fail fast meanwhile.
    await redis.kill();
    await expectDown(2);
    await assert.rejects(
      producer.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'monitor' } }),
      /queue Redis is unreachable/,
    );

    // 4. It comes back (empty: no persistence): the same worker picks up new jobs.
    await redis.start();
    await expectUp();
    assert.equal(backLines().length, 2);
    await pollFor('the producer to reconnect', () => (producer!.redis.status === 'ready' ? true : undefined));
    await producer.whenReady();
    const second = await pollFor('an enqueue to be accepted again', async () =>
      producer!.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'monitor' } }),
    );
    assert.equal((await producer.waitForJob('diagnose', second, 20_000)).state, 'completed');

    // 5. SIGTERM during a new outage still shuts down cleanly.
    await redis.kill();
    await expectDown(3);
    w.signal('SIGTERM');
    assert.deepEqual(await waitForExit(w, 20_000), { code: 0, signal: null });
    const leak = w.lines.find((l) => /open handles/.test(l.msg));
    assert.equal(leak, undefined, `the process ended by itself, nothing left open: ${JSON.stringify(leak)}`);
  });
});
