// `redis-medic worker` as real processes (bin/redis-medic, env config) sharing the real queue
// Redis, diagnosing a real 3-master cluster: exactly-once processing across processes, a
// SIGKILLed worker's job recovered as stalled, SIGTERM finishing the running job and exiting 0,
// and the start-up refusal of a queue Redis that is a monitored cluster.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { Config } from '../../../src/config/schema';
import { createJobSystem, type JobSystem } from '../../../src/jobs/system';
import { silentLogger } from '../../../src/logging/logger';
import { useCluster, type TestNode } from '../../helpers/cluster';
import { startWorkerProcess, waitForExit, type WorkerProcess } from '../../helpers/worker-process';
import { deletePrefix, jobsConfig, pollFor, QUEUE_REDIS_URL, testPrefix } from './support';

describe('worker processes (redis-medic worker)', function () {
  this.timeout(60_000);
  const cluster = useCluster({ masters: 3 });
  let prefix: string;
  let workers: WorkerProcess[];
  let producer: JobSystem | undefined;
  let frozen: TestNode[];

  beforeEach(() => {
    prefix = testPrefix();
    workers = [];
    producer = undefined;
    frozen = [];
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    for (const node of frozen) if (node.frozen) cluster().thaw(node);
    await producer?.close();
    await deletePrefix(prefix);
    if (frozen.length) await cluster().waitUntilOk({ timeoutMs: 20_000 });
  });

  /** The config file the workers read; `commandMs` long enough to catch a job mid-way on a frozen node. */
  const fileConfig = (commandMs = 1000, redisUrl = QUEUE_REDIS_URL, seeds = [cluster().seeds[0]!]): Record<string, unknown> => ({
    clusters: [{ name: 'test', seeds }],
    timeouts: { connectMs: 500, commandMs },
    queue: { redisUrl },
    // The monitor's wiring is another module's; these tests are about the job pipeline.
    monitor: { enabled: false },
  });
  const producerConfig = (): Config => jobsConfig(prefix, [cluster().seeds[0]!]);

  async function startWorker(args: string[], config = fileConfig()): Promise<WorkerProcess> {
    const worker = await startWorkerProcess({ config, redisUrl: QUEUE_REDIS_URL, queuePrefix: prefix, args });
    workers.push(worker);
    await worker.waitForLog((l) => /^taking jobs from diagnose/.test(l.msg), { what: 'the worker to take jobs' });
    return worker;
  }
  async function startProducer(): Promise<JobSystem> {
    producer = createJobSystem(producerConfig(), { logger: silentLogger });
    await producer.whenReady();
    return producer;
  }
  const nameOf = (w: WorkerProcess): string => String(w.lines.find((l) => typeof l.worker === 'string')?.worker);
  const completedIds = (w: WorkerProcess): string[] =>
    w.lines.map((l) => /^diagnose job (\S+) completed$/.exec(l.msg)?.[1]).filter((id): id is string => Boolean(id));

  /** Freezes a node that is not the seed, so a diagnosis sits in its command timeout. */
  function freezeOneNode(): void {
    const node = cluster().masters()[2]!;
    cluster().freeze(node);
    frozen.push(node);
  }
  async function activeJobOwner(system: JobSystem, jobId: string): Promise<string> {
    return pollFor(`diagnose job ${jobId} to be active on a worker`, async () => {
      const job = await system.queues.diagnose.getJob(jobId);
      return job && (await job.getState()) === 'active' && job.processedBy ? job.processedBy : undefined;
    });
  }

  it('two worker processes share 50 diagnose jobs, each processed exactly once', async () => {
    const [a, b] = await Promise.all([startWorker(['--concurrency', '4']), startWorker(['--concurrency', '4'])]);
    const system = await startProducer();
    const ids = await Promise.all(
      Array.from({ length: 50 }, () => system.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'monitor' } })),
    );
    assert.equal(new Set(ids).size, 50);

    await pollFor(
      '50 completed diagnose jobs',
      async () => ((await system.queues.diagnose.getCompletedCount()) === 50 ? true : undefined),
      30_000,
    );
    const names = [nameOf(a!), nameOf(b!)];
    for (const id of ids) {
      const status = await system.results.getDiagnosisResult(id);
      assert.equal(status?.state, 'completed', `job ${id}`);
      assert.equal(status?.attemptsStarted, 1, `job ${id} was started ${status?.attemptsStarted} times`);
      assert.ok(names.includes(status?.processedBy ?? ''), `job ${id} processed by ${status?.processedBy}, not one of ${names.join(', ')}`);
      assert.equal(status?.result?.cluster, 'test');
    }
    // Each process logs every job it completes: together, every id exactly once.
    const fromA = completedIds(a!);
    const fromB = completedIds(b!);
    assert.deepEqual([...fromA, ...fromB].sort(), [...ids].sort());
    assert.ok(fromA.length > 0 && fromB.length > 0, `both processes took work (${fromA.length} + ${fromB.length})`);
  });

  it('a worker SIGKILLed in the middle of a diagnosis: the job is recovered as stalled and completed by the other', async () => {
    const args = ['--concurrency', '1', '--lock-duration-ms', '2000', '--stalled-interval-ms', '1000'];
    const [a, b] = await Promise.all([startWorker(args, fileConfig(4000)), startWorker(args, fileConfig(4000))]);
    const system = await startProducer();
    freezeOneNode();
    const jobId = await system.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'monitor' } });
    const owner = await activeJobOwner(system, jobId);
    const [victim, survivor] = nameOf(a!) === owner ? [a!, b!] : [b!, a!];
    assert.equal(nameOf(victim), owner);

    victim.signal('SIGKILL');
    assert.equal((await waitForExit(victim)).signal, 'SIGKILL');
    cluster().thaw(frozen[0]!);
    const status = await system.waitForJob('diagnose', jobId, 30_000);

    assert.equal(status.state, 'completed');
    assert.equal(status.processedBy, nameOf(survivor));
    assert.equal(status.attemptsStarted, 2);
    assert.equal(status.attemptsMade <= 1, true, 'the crash is not counted as a failed attempt');
    await survivor.waitForLog((l) => l.msg === `diagnose job ${jobId} completed`, { what: 'the survivor to complete the job' });
    assert.ok(
      survivor.lines.some((l) => l.msg.includes(`job ${jobId} stalled`)),
      'the survivor found the job stalled',
    );
  });

  it('SIGTERM: takes no new job, finishes the running one, closes its connections and exits 0', async () => {
    const worker = await startWorker(['--concurrency', '1', '--shutdown-grace-ms', '20000'], fileConfig(3000));
    const system = await startProducer();
    freezeOneNode();
    const running = await system.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'monitor' } });
    assert.equal(await activeJobOwner(system, running), nameOf(worker));

    worker.signal('SIGTERM');
    await worker.waitForLog((l) => l.msg === 'worker stopping (SIGTERM)', { what: 'the worker to start stopping' });
    const queuedAfter = await system.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'monitor' } });
    const exit = await waitForExit(worker, 30_000);

    assert.deepEqual(exit, { code: 0, signal: null });
    const finished = await system.results.getDiagnosisResult(running);
    assert.equal(finished?.state, 'completed');
    assert.equal(finished?.processedBy, nameOf(worker));
    assert.equal((await system.results.getDiagnosisResult(queuedAfter))?.state, 'waiting');
    assert.ok(worker.lines.some((l) => l.msg === 'worker stopped'));
    assert.ok(!worker.lines.some((l) => /open handles/.test(l.msg)), 'the process ended by itself, nothing left open');
    const redis = new Redis(QUEUE_REDIS_URL, { commandTimeout: 2000 });
    try {
      const clients = String(await redis.call('CLIENT', 'LIST'));
      assert.doesNotMatch(clients, new RegExp(`name=redis-medic-\\w+-${nameOf(worker)}\\b`));
    } finally {
      redis.disconnect();
    }
  });

  it('refuses to start on a queue Redis that is a seed of a monitored cluster (exit 2, clear message)', async () => {
    const seed = cluster().seeds[0]!;
    const worker = await startWorkerProcess({
      config: fileConfig(1000, `redis://${seed}`),
      redisUrl: `redis://${seed}`,
      queuePrefix: prefix,
    });
    workers.push(worker);
    const exit = await waitForExit(worker);
    assert.equal(exit.code, 2);
    assert.match(worker.rawOutput(), /the queue Redis \(REDIS_URL redis:\/\/127\.0\.0\.1:\d+\) is a node of the monitored cluster "test"/);
  });

  it('refuses a queue Redis in cluster mode once it answers (exit 2, nothing processed)', async () => {
    const other = cluster().masters()[1]!;
    const url = `redis://${other.addr}`;
    const worker = await startWorkerProcess({ config: fileConfig(1000, url), redisUrl: url, queuePrefix: prefix });
    workers.push(worker);
    const exit = await waitForExit(worker);
    assert.equal(exit.code, 2, worker.rawOutput());
    assert.match(worker.rawOutput(), /runs in cluster mode \(INFO cluster says cluster_enabled:1\)/);
    assert.ok(!worker.lines.some((l) => /^taking jobs/.test(l.msg)));
  });
});
