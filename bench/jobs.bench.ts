// Diagnose jobs per second through the queue, against a live 6-node cluster (3 masters + 3
// replicas): 1 and 2 `redis-medic worker` processes (4 concurrent jobs each), next to the same
// diagnoses run in-process without a queue at the same concurrency, measured in the same run.
// The ratios say what the queue costs and what a second worker process buys on this machine.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseConfig } from '../src/config/load';
import type { Config } from '../src/config/schema';
import { diagnoseCluster } from '../src/engine';
import { createJobSystem, type JobSystem } from '../src/jobs/system';
import { silentLogger } from '../src/logging/logger';
import { spawnCluster } from '../test/helpers/cluster';
import { startWorkerProcess, type WorkerProcess } from '../test/helpers/worker-process';
import { deletePrefix } from '../test/integration/jobs/support';

const JOBS = 200;
const CONCURRENCY = 4;
const QUEUE_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export default async function run(): Promise<void> {
  const cluster = await spawnCluster({ masters: 3, replicasPerMaster: 1 });
  const prefix = `bench-${randomUUID()}`;
  const fileConfig = { clusters: [{ name: 'bench', seeds: [cluster.seeds[0]!] }], monitor: { enabled: false } };
  const config: Config = parseConfig({ ...fileConfig, queue: { redisUrl: QUEUE_REDIS_URL, prefix } });
  const producer = createJobSystem(config, { logger: silentLogger });
  const workers: WorkerProcess[] = [];
  try {
    await producer.whenReady();
    const events = producer.queueEvents('diagnose');
    await events.waitUntilReady();

    // Warm up the cluster connections' code paths and the JIT before timing anything.
    await inProcess(config, 20);
    const reference = await inProcess(config, JOBS);

    const start = async (): Promise<void> => {
      const worker = await startWorkerProcess({
        config: fileConfig,
        redisUrl: QUEUE_REDIS_URL,
        queuePrefix: prefix,
        args: ['--concurrency', String(CONCURRENCY)],
        env: { LOG_LEVEL: 'warn' },
      });
      workers.push(worker);
      await waitForWorkers(producer, workers.length);
    };
    await start();
    await throughQueue(producer, 20);
    const one = await throughQueue(producer, JOBS);
    await start();
    await throughQueue(producer, 20);
    const two = await throughQueue(producer, JOBS);

    console.log(`${JOBS} diagnoses of a 6-node cluster, ${CONCURRENCY} at a time per process, ${os.cpus().length} CPUs`);
    console.log(`in-process, no queue (reference)   ${reference.toFixed(0).padStart(5)} diagnoses/s`);
    console.log(`queue, 1 worker process            ${one.toFixed(0).padStart(5)} jobs/s   ${(one / reference).toFixed(2)}x reference`);
    console.log(
      `queue, 2 worker processes          ${two.toFixed(0).padStart(5)} jobs/s   ${(two / reference).toFixed(2)}x reference   ${(two / one).toFixed(2)}x one worker`,
    );
  } finally {
    await Promise.all(workers.map((w) => w.kill()));
    await producer.close();
    await deletePrefix(prefix);
    await cluster.teardown();
  }
}

/** Diagnoses per second, `count` of them with CONCURRENCY in flight, in this process. */
async function inProcess(config: Config, count: number): Promise<number> {
  const target = config.clusters[0]!;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < count) await diagnoseCluster(target, config);
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/** Jobs per second from the first enqueue to the last completion (QueueEvents). */
async function throughQueue(system: JobSystem, count: number): Promise<number> {
  const events = system.queueEvents('diagnose');
  const ids = new Set<string>();
  let completed = 0;
  let failed = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const onCompleted = ({ jobId }: { jobId: string }): void => {
    if (ids.has(jobId) && ++completed + failed === count) resolveDone();
  };
  const onFailed = ({ jobId }: { jobId: string }): void => {
    if (ids.has(jobId) && completed + ++failed === count) resolveDone();
  };
  events.on('completed', onCompleted);
  events.on('failed', onFailed);
  try {
    const started = performance.now();
    const jobs = await system.queues.diagnose.addBulk(
      Array.from({ length: count }, () => ({
        name: 'diagnose',
        data: { cluster: 'bench', origin: { kind: 'cli' as const, user: 'bench' } },
      })),
    );
    for (const j of jobs) ids.add(String(j.id));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`only ${completed} of ${count} jobs finished within 120 s`)), 120_000);
      }),
    ]).finally(() => clearTimeout(timer));
    if (failed) throw new Error(`${failed} of ${count} diagnose jobs failed`);
    return count / ((performance.now() - started) / 1000);
  } finally {
    events.off('completed', onCompleted);
    events.off('failed', onFailed);
  }
}

async function waitForWorkers(system: JobSystem, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await system.queues.diagnose.getWorkersCount()) < count) {
    if (Date.now() > deadline) throw new Error(`${count} worker processes did not connect within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
