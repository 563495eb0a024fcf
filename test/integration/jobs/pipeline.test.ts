// The job system in-process against the real queue Redis (127.0.0.1:6379, a unique prefix per
// test) and a real 3-master cluster: results by job id, progress, retries, repair idempotency,
// stalled repairs, schedulers, health and metrics, fail-fast enqueues, the start-up refusal.
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createAuditLog } from '../../../src/audit/audit-log';
import type { Config } from '../../../src/config/schema';
import { ErrorCode, isRedisMedicError, type RedisMedicError } from '../../../src/errors';
import { healthRoutes, startRouteServer } from '../../../src/http/health';
import { createQueueConnection } from '../../../src/jobs/connection';
import { createRepairProcessor, INTERRUPTED_REASON, type ExecutePlan, type ExecutePlanOptions } from '../../../src/jobs/processors/repair';
import { syncMonitorSchedulers } from '../../../src/jobs/scheduler';
import { createJobSystem, type JobSystem, type JobSystemDeps } from '../../../src/jobs/system';
import type { JobHooks, RepairJobData } from '../../../src/jobs/types';
import { silentLogger } from '../../../src/logging/logger';
import type { RepairResult, PlannedReport } from '../../../src/repair/types';
import { freePort, useCluster } from '../../helpers/cluster';
import { approvedRepair, deletePrefix, jobsConfig, pollFor, testPrefix } from './support';

describe('job system (in-process, real queue Redis and cluster)', function () {
  this.timeout(30_000);
  const cluster = useCluster({ masters: 3 });
  let prefix: string;
  let systems: JobSystem[];
  let extraClosers: Array<() => Promise<unknown>>;

  beforeEach(() => {
    prefix = testPrefix();
    systems = [];
    extraClosers = [];
  });
  afterEach(async () => {
    await Promise.all(extraClosers.map((c) => c()));
    await Promise.all(systems.map((s) => s.close()));
    await deletePrefix(prefix);
  });

  const start = (config: Config, deps: Partial<JobSystemDeps> = {}): JobSystem => {
    const system = createJobSystem(config, { logger: silentLogger, ...deps });
    systems.push(system);
    return system;
  };
  const config = (extra: Record<string, unknown> = {}): Config => jobsConfig(prefix, [cluster().seeds[0]!], extra);

  describe('diagnose jobs', () => {
    it('returns the report as the job result, readable by job id, with progress for hooks and QueueEvents', async () => {
      const progress: string[] = [];
      const done: Array<{ jobId: string; report: PlannedReport }> = [];
      const hooks: JobHooks = {
        async onDiagnoseProgress(_data, message) {
          progress.push(message);
        },
        async onDiagnosisDone(_data, report, jobId) {
          done.push({ jobId, report });
        },
      };
      const system = start(config(), { hooks });
      await system.startWorkers({ queues: ['diagnose'] });
      await system.whenReady();
      const events = system.queueEvents('diagnose');
      const seenByEvents: unknown[] = [];
      events.on('progress', ({ data }) => seenByEvents.push(data));
      await events.waitUntilReady();

      const jobId = await system.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'cli', user: 'tester' } });
      const status = await system.waitForJob<PlannedReport>('diagnose', jobId, 15_000);

      assert.equal(status.state, 'completed');
      assert.equal(status.result?.cluster, 'test');
      assert.equal(status.result?.verdict, 'ok');
      assert.equal(status.result?.nodes.length, 3);
      const read = await system.results.getDiagnosisResult(jobId);
      assert.equal(read?.result?.checkedAt, status.result?.checkedAt);
      assert.deepEqual(progress, ['checking 1 seed node of test', 'checked 3 nodes (3 answered): ok']);
      assert.deepEqual(
        done.map((d) => d.jobId),
        [jobId],
      );
      await pollFor('both progress events through QueueEvents', () => (seenByEvents.length >= 2 ? true : undefined));
      assert.deepEqual(
        seenByEvents.map((p) => (p as { phase: string }).phase),
        ['collecting', 'diagnosed'],
      );
      assert.equal(await system.results.getDiagnosisResult('no-such-job'), null);
    });

    it('retries "no seed answered" with backoff and reports the failure once, on the last attempt', async () => {
      const deadSeed = `127.0.0.1:${await freePort()}`;
      const failures: Array<{ error: string; jobId: string }> = [];
      const system = start(jobsConfig(prefix, [deadSeed]), {
        hooks: {
          async onDiagnosisFailed(_d, error, jobId) {
            failures.push({ error, jobId });
          },
        },
      });
      await system.startWorkers({ queues: ['diagnose'] });
      await system.whenReady();
      const jobId = await system.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'monitor' } });
      const status = await system.waitForJob('diagnose', jobId, 20_000);

      assert.equal(status.state, 'failed');
      assert.equal(status.attemptsMade, 3);
      assert.match(status.error ?? '', /no node of test answered/);
      assert.equal(failures.length, 1);
      assert.equal(failures[0]!.jobId, jobId);
      assert.match(failures[0]!.error, /connection refused/);
    });

    it('fails at once, without retries, when the worker does not know the cluster', async () => {
      const producer = start(
        config({
          clusters: [
            { name: 'test', seeds: [cluster().seeds[0]!] },
            { name: 'gone', seeds: ['127.0.0.1:1'] },
          ],
        }),
      );
      const failures: string[] = [];
      const worker = start(config(), {
        hooks: {
          async onDiagnosisFailed(_d, error) {
            failures.push(error);
          },
        },
      });
      await worker.startWorkers({ queues: ['diagnose'] });
      await producer.whenReady();
      const jobId = await producer.enqueuer.enqueueDiagnosis({ cluster: 'gone', origin: { kind: 'monitor' } });
      const status = await producer.waitForJob('diagnose', jobId, 15_000);

      assert.equal(status.state, 'failed');
      assert.equal(status.attemptsMade, 1);
      assert.match(status.error ?? '', /unknown cluster "gone"/);
      assert.equal(failures.length, 1);
    });

    it('on close, a diagnosis still running after the shutdown grace is handed back to the queue', async () => {
      let release!: () => void;
      const blocked = new Promise<void>((resolve) => {
        release = resolve;
      });
      extraClosers.unshift(async () => release());
      let started = 0;
      const system = start(config(), {
        workers: { shutdownGraceMs: 200 },
        diagnose: async () => {
          started++;
          await blocked;
          throw new Error('abandoned attempt must not count');
        },
      });
      await system.startWorkers({ queues: ['diagnose'] });
      await system.whenReady();
      const jobId = await system.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'monitor' } });
      await pollFor('the diagnosis to start', () => (started > 0 ? true : undefined));
      const reader = start(config());
      await reader.whenReady();

      await system.close();
      const status = await reader.results.getDiagnosisResult(jobId);
      assert.equal(status?.state, 'waiting', 'back in the queue for another worker');
      assert.equal(status?.attemptsMade, 0, 'a hand-back is not a failed attempt');
    });

    it('refuses to queue a diagnosis of an unknown cluster, and queues nothing', async () => {
      const system = start(config());
      await system.whenReady();
      await assert.rejects(
        system.enqueuer.enqueueDiagnosis({ cluster: 'nope', origin: { kind: 'monitor' } }),
        (err: RedisMedicError) => err.code === ErrorCode.UnknownCluster && /Known clusters: test/.test(err.message),
      );
      const counts = await system.queues.diagnose.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
      assert.deepEqual(
        Object.values(counts).reduce((a, b) => a + b, 0),
        0,
      );
    });
  });

  describe('repair jobs', () => {
    const repairData = (approvalId: string): Promise<RepairJobData> =>
      approvedRepair(config(), {
        cluster: 'test',
        planId: 'plan-abc',
        approvalId,
        approvedBy: 'U0APPROVER',
        origin: { kind: 'slack', channel: 'C1', user: 'U0ASKER' },
      });
    const repaired = (options: ExecutePlanOptions): RepairResult => ({
      status: 'repaired',
      planId: options.planId,
      steps: [],
      durationMs: 1,
    });

    it('runs once for one approval, however often it is queued (and after the job is gone)', async () => {
      const calls: ExecutePlanOptions[] = [];
      const executePlan: ExecutePlan = async (options) => {
        calls.push(options);
        await options.onProgress?.({ phase: 'verifying', message: 'waiting for cluster_state:ok' });
        return repaired(options);
      };
      const progress: string[] = [];
      const done: RepairResult[] = [];
      const system = start(config(), {
        executePlan,
        hooks: {
          async onRepairProgress(_d, p) {
            progress.push(p.message);
          },
          async onRepairDone(_d, result) {
            done.push(result);
          },
        },
      });
      await system.startWorkers({ queues: ['repair'] });
      await system.whenReady();

      const a1 = await repairData('A1');
      const [first, second] = await Promise.all([system.enqueuer.enqueueRepair(a1), system.enqueuer.enqueueRepair(a1)]);
      assert.equal(first.jobId, second.jobId);
      assert.deepEqual([first.created, second.created].sort(), [false, true]);
      assert.doesNotMatch(first.jobId, /:/);
      const status = await system.waitForJob<RepairResult>('repair', first.jobId, 15_000);
      assert.equal(status.state, 'completed');
      assert.equal(status.result?.status, 'repaired');

      assert.deepEqual(await system.enqueuer.enqueueRepair(await repairData('A1')), { jobId: first.jobId, created: false });
      await (await system.queues.repair.getJob(first.jobId))!.remove();
      assert.deepEqual(await system.enqueuer.enqueueRepair(await repairData('A1')), { jobId: first.jobId, created: false });

      const other = await system.enqueuer.enqueueRepair(await repairData('A2'));
      assert.equal(other.created, true);
      assert.notEqual(other.jobId, first.jobId);
      await system.waitForJob('repair', other.jobId, 15_000);

      assert.equal(calls.length, 2);
      assert.equal(calls[0]!.actor, 'U0APPROVER');
      assert.equal(calls[0]!.planId, 'plan-abc');
      assert.equal(done.length, 2);
      assert.deepEqual(progress, ['waiting for cluster_state:ok', 'waiting for cluster_state:ok']);
    });

    it('reports a repair whose worker died mid-way as interrupted and never re-runs its steps', async () => {
      let release!: () => void;
      const blocked = new Promise<void>((resolve) => {
        release = resolve;
      });
      // Even when an assertion fails, worker A's repair must end, or closing A would wait for it.
      extraClosers.unshift(async () => release());
      let startedOnA = 0;
      const doneOnA: RepairResult[] = [];
      const settings = { lockDurationMs: 1000, stalledIntervalMs: 500, shutdownGraceMs: 200 };
      const a = start(config(), {
        workers: { ...settings, name: 'worker-a' },
        executePlan: async (options) => {
          startedOnA++;
          await blocked;
          return repaired(options);
        },
        hooks: {
          async onRepairDone(_d, result) {
            doneOnA.push(result);
          },
        },
      });
      await a.startWorkers({ queues: ['repair'] });
      await a.whenReady();
      const { jobId } = await a.enqueuer.enqueueRepair(await repairData('A3'));
      await pollFor('the repair to start on worker A', () => (startedOnA > 0 ? true : undefined));
      // Worker A hangs with the repair half-done and loses its lock, as a dead or frozen
      // process does: the stalled-job check of worker B takes the job over.
      const redis = createQueueConnection(config().queue.redisUrl, { role: 'worker' });
      extraClosers.push(async () => redis.disconnect());
      assert.equal(await redis.del(`${prefix}:repair:${jobId}:lock`), 1);

      const onB: string[] = [];
      const b = start(config(), {
        workers: { ...settings, name: 'worker-b' },
        executePlan: async (options) => {
          onB.push(options.planId);
          return repaired(options);
        },
      });
      await b.startWorkers({ queues: ['repair'] });
      const status = await b.waitForJob<RepairResult>('repair', jobId, 20_000);
      release();

      // Whichever worker's stalled-job check got it (A's own checker runs too), nothing re-ran.
      assert.equal(status.state, 'completed');
      assert.ok(['worker-a', 'worker-b'].includes(status.processedBy ?? ''), `processed by ${status.processedBy}`);
      assert.equal(status.attemptsStarted, 2);
      assert.equal(status.result?.status, 'failed');
      assert.equal(status.result?.reason, INTERRUPTED_REASON);
      assert.equal(startedOnA, 1);
      assert.deepEqual(onB, []);
      // A, resumed, still reports what its run really did (after the "interrupted" report).
      await pollFor("worker A's own report", () => (doneOnA.some((d) => d.status === 'repaired') ? true : undefined));
      assert.deepEqual(
        doneOnA.map((d) => d.status),
        status.processedBy === 'worker-a' ? ['failed', 'repaired'] : ['repaired'],
      );
    });

    it('the processor reports executor crashes and unknown clusters as results, never as retries', async () => {
      const redis = createQueueConnection(config().queue.redisUrl, { role: 'worker' });
      extraClosers.push(async () => redis.disconnect());
      const queue = new Queue<RepairJobData, RepairResult>('repair', { connection: redis, prefix });
      extraClosers.push(() => queue.close());
      const processor = createRepairProcessor({
        config: config(),
        logger: silentLogger,
        redis,
        executePlan: async () => {
          throw new Error('ECONNRESET while sending CLUSTER FAILOVER');
        },
      });
      const job = await queue.add('repair', await repairData('A4'), { jobId: 'repair-crash-test' });
      const crashed = await processor(job);
      assert.equal(crashed.status, 'failed');
      assert.match(crashed.reason ?? '', /ECONNRESET while sending CLUSTER FAILOVER.*Re-diagnose/);

      const unknown = await queue.add('repair', { ...(await repairData('A5')), cluster: 'elsewhere' }, { jobId: 'repair-unknown-test' });
      const refused = await processor(unknown);
      assert.equal(refused.status, 'refused');
      assert.match(refused.reason ?? '', /unknown cluster "elsewhere"/);
    });
  });

  describe('a real repair through the queue (src/repair/executor.ts)', () => {
    const broken = useCluster({ masters: 3 });

    it('diagnose job → plan → the same approval queued twice → one run that repairs the cluster', async function () {
      this.timeout(60_000);
      const c = broken();
      // The owner drops slots 0-9: it says fail; the others still map them to it.
      await c.delSlotsRange(c.masters()[0]!, 0, 9);
      const progress: string[] = [];
      const system = start(jobsConfig(prefix, [c.seeds[0]!]), {
        hooks: {
          async onRepairProgress(_d, p) {
            progress.push(p.message);
          },
        },
      });
      await system.startWorkers({ queues: ['diagnose', 'repair'] });
      await system.whenReady();

      const diagnosis = await system.waitForJob<PlannedReport>(
        'diagnose',
        await system.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'cli', user: 'tester' } }),
        15_000,
      );
      const plan = diagnosis.result?.fixes.find((f) => f.action === 'ASSIGN_UNCOVERED_SLOTS' && f.executable);
      assert.ok(plan, `an executable plan, got ${JSON.stringify(diagnosis.result?.fixes.map((f) => [f.action, f.executable]))}`);
      const data = await approvedRepair(jobsConfig(prefix, [c.seeds[0]!]), {
        cluster: 'test',
        planId: plan.id,
        approvalId: 'approval-1',
        approvedBy: 'U0APPROVER',
        origin: { kind: 'cli', user: 'tester' },
      });
      const queued = await Promise.all([system.enqueuer.enqueueRepair(data), system.enqueuer.enqueueRepair(data)]);
      assert.deepEqual(queued.map((q) => q.created).sort(), [false, true]);
      const status = await system.waitForJob<RepairResult>('repair', queued[0]!.jobId, 30_000);

      assert.equal(status.result?.status, 'repaired', JSON.stringify(status.result, null, 2));
      assert.ok(
        progress.some((m) => /step 1\//.test(m)),
        `step progress reported: ${progress.join(' | ')}`,
      );
      await c.waitUntilOk();
      const audit = await createAuditLog(system.redis, prefix, silentLogger).read({ cluster: 'test' });
      assert.equal(audit.filter((r) => r.action === 'repair.started').length, 1, 'the executor ran once');
      assert.deepEqual(await system.enqueuer.enqueueRepair(data), { jobId: queued[0]!.jobId, created: false });
    });
  });

  describe('monitor schedulers', () => {
    it('one scheduler per cluster, even when several processes sync at once; removed when unconfigured', async () => {
      const redis = createQueueConnection(config().queue.redisUrl, { role: 'worker' });
      extraClosers.push(async () => redis.disconnect());
      const queues = [0, 1, 2].map(() => new Queue('monitor', { connection: redis, prefix }));
      extraClosers.push(() => Promise.all(queues.map((q) => q.close())));
      const seeds = [cluster().seeds[0]!];
      const twoClusters = config({
        clusters: [
          { name: 'alpha', seeds },
          { name: 'beta', seeds },
        ],
        monitor: { intervalMs: 60_000 },
      });

      const results = await Promise.all(queues.map((q) => syncMonitorSchedulers(q as never, twoClusters, { redis })));
      assert.deepEqual(results.flatMap((r) => r.upserted).sort(), ['monitor-alpha', 'monitor-beta']);
      assert.deepEqual(results.flatMap((r) => r.unchanged).length, 4);
      const schedulers = await queues[0]!.getJobSchedulers(0, -1);
      assert.deepEqual(schedulers.map((s) => s.key).sort(), ['monitor-alpha', 'monitor-beta']);
      assert.ok(schedulers.every((s) => s.every === 60_000));
      assert.deepEqual(
        schedulers.map((s) => s.template?.data).sort((x, y) => String(x.cluster).localeCompare(String(y.cluster))),
        [
          { cluster: 'alpha', reason: 'schedule' },
          { cluster: 'beta', reason: 'schedule' },
        ],
      );
      const delayed = await queues[0]!.getJobs(['delayed', 'waiting']);
      assert.equal(delayed.length, 2, `one pending poll per scheduler, got ${delayed.map((j) => j.id).join(', ')}`);

      const betaOnly = config({ clusters: [{ name: 'beta', seeds }], monitor: { intervalMs: 30_000 } });
      const resync = await syncMonitorSchedulers(queues[0] as never, betaOnly, { redis });
      assert.deepEqual(resync, { upserted: ['monitor-beta'], unchanged: [], removed: ['monitor-alpha'] });
      assert.deepEqual(
        (await queues[0]!.getJobSchedulers(0, -1)).map((s) => [s.key, s.every]),
        [['monitor-beta', 30_000]],
      );

      const disabled = await syncMonitorSchedulers(
        queues[0] as never,
        { ...betaOnly, monitor: { ...betaOnly.monitor, enabled: false } },
        { redis },
      );
      assert.deepEqual(disabled.removed, ['monitor-beta']);
      assert.equal(await queues[0]!.getJobSchedulersCount(), 0);
    });

    it('the system runs scheduled polls through the monitor poll it was given', async () => {
      const polled: string[] = [];
      const system = start(config({ monitor: { intervalMs: 250 } }), {
        monitorPoll: async (job) => {
          polled.push(job.data.cluster);
          return { ok: true };
        },
      });
      await system.startWorkers({ queues: ['monitor'] });
      await system.startSchedulers();
      await system.whenSchedulersSynced();
      await pollFor('two scheduled polls', () => (polled.length >= 2 ? true : undefined));
      assert.ok(polled.every((c) => c === 'test'));
      const health = await system.health();
      assert.ok(health.detail.schedulers?.lastSyncAt);
    });
  });

  describe('health, metrics and the queue Redis', () => {
    it('serves /healthz and /metrics', async () => {
      const system = start(config());
      await system.startWorkers({ queues: ['diagnose'] });
      await system.whenReady();
      const jobId = await system.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'monitor' } });
      await system.waitForJob('diagnose', jobId, 15_000);
      const server = await startRouteServer(healthRoutes(system), { port: 0, host: '127.0.0.1' });
      extraClosers.push(() => server.close());

      const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      assert.equal(health.status, 200);
      const body = (await health.json()) as Record<string, unknown>;
      assert.equal(body.status, 'ok');
      assert.equal(body.queueRedis, 'up');
      assert.deepEqual(body.workers, { diagnose: 'running' });

      const metrics = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(5000) });
      assert.equal(metrics.status, 200);
      const text = await metrics.text();
      assert.match(text, /redis_medic_jobs_completed_total\{queue="diagnose"\} 1/);
      assert.match(text, /redis_medic_job_duration_seconds_count\{queue="diagnose",outcome="completed"\} 1/);
      assert.match(text, /redis_medic_queue_jobs\{queue="diagnose",state="completed"\} 1/);
      assert.equal((await fetch(`${server.url}/nope`, { signal: AbortSignal.timeout(5000) })).status, 404);
    });

    it('fails enqueues fast and reports unhealthy while the queue Redis is unreachable', async () => {
      const port = await freePort();
      const system = start(jobsConfig(prefix, [cluster().seeds[0]!], {}, `redis://127.0.0.1:${port}`));
      await assert.rejects(
        system.enqueuer.enqueueDiagnosis({ cluster: 'test', origin: { kind: 'monitor' } }),
        (err: RedisMedicError) => err.code === ErrorCode.QueueUnavailable && /queue Redis is unreachable/.test(err.message),
      );
      await assert.rejects(
        system.enqueuer.enqueueRepair({ cluster: 'test', planId: 'p', approvalId: 'a', approvedBy: 'U1', origin: { kind: 'monitor' } }),
        (err: RedisMedicError) => err.code === ErrorCode.QueueUnavailable,
      );
      const health = await pollFor('health to name the refused connection', async () => {
        const h = await system.health();
        return /ECONNREFUSED/.test(h.detail.error ?? '') ? h : undefined;
      });
      assert.equal(health.ok, false);
      assert.equal(health.queueRedis, 'down');
    });

    it('refuses a queue Redis that is a seed of a monitored cluster, before connecting', () => {
      const seed = cluster().seeds[0]!;
      assert.throws(
        () =>
          createJobSystem(jobsConfig(prefix, [seed], {}, `redis://${seed.replace('127.0.0.1', 'localhost')}/0`), { logger: silentLogger }),
        (err: RedisMedicError) => err.code === ErrorCode.ConfigError && /is a node of the monitored cluster "test"/.test(err.message),
      );
    });

    it('refuses a queue Redis in cluster mode: workers never start, onFatal is told', async () => {
      const other = cluster().masters()[1]!;
      const fatal: RedisMedicError[] = [];
      let diagnosed = 0;
      const system = start(jobsConfig(prefix, [cluster().seeds[0]!], {}, `redis://${other.addr}`), {
        onFatal: (err) => fatal.push(err),
        diagnose: async () => {
          diagnosed++;
          throw new Error('must not run');
        },
      });
      await system.startWorkers({ queues: ['diagnose'] });
      await assert.rejects(
        system.whenReady(10_000),
        (err: unknown) => isRedisMedicError(err, ErrorCode.ConfigError) && /cluster_enabled:1/.test((err as Error).message),
      );
      assert.equal(fatal.length, 1);
      const health = await system.health();
      assert.equal(health.ok, false);
      assert.match(health.detail.error ?? '', /runs in cluster mode/);
      assert.equal(diagnosed, 0);
      // Nothing of ours was written into the cluster node.
      const node = new Redis(other.port, other.host, { commandTimeout: 2000 });
      extraClosers.push(async () => node.disconnect());
      assert.deepEqual(await node.keys(`${prefix}*`), []);
    });
  });
});
