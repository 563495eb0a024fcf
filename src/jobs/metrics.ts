import type { Job, Worker } from 'bullmq';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobQueues, QueueName } from './queues';
import { QUEUE_NAMES, withTimeout } from './queues';

export interface JobMetrics {
  registry: Registry;
  /** Counts this worker's finished jobs and their durations. */
  observe(worker: Worker, queue: QueueName): void;
}

const DEPTH_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/**
 * Prometheus metrics of the job system, in a registry of its own (several systems in one test
 * process must not clash on metric names). Counters and durations are per process; the queue
 * depth is read from the queue Redis at scrape time, bounded by a timeout.
 */
export function createJobMetrics(queues: () => JobQueues | undefined, scrapeTimeoutMs = 1000): JobMetrics {
  const registry = new Registry();
  const completed = new Counter({
    name: 'redis_medic_jobs_completed_total',
    help: 'Jobs completed by this process, per queue',
    labelNames: ['queue'],
    registers: [registry],
  });
  const failed = new Counter({
    name: 'redis_medic_jobs_failed_total',
    help: 'Job attempts failed in this process, per queue',
    labelNames: ['queue'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'redis_medic_job_duration_seconds',
    help: 'Time from a job starting on this process to it finishing, per queue',
    labelNames: ['queue', 'outcome'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  new Gauge({
    name: 'redis_medic_queue_jobs',
    help: 'Jobs in each queue by state (read from the queue Redis at scrape time)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const current = queues();
      if (!current) return;
      await Promise.all(
        QUEUE_NAMES.map(async (name) => {
          try {
            const counts = await withTimeout(current[name].getJobCounts(...DEPTH_STATES), scrapeTimeoutMs, `count ${name} jobs`);
            for (const state of DEPTH_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
          } catch {
            // Queue Redis down: /healthz says so; the gauge keeps its last values.
          }
        }),
      );
    },
  });

  const seconds = (job: Job): number => (job.finishedOn && job.processedOn ? Math.max(0, job.finishedOn - job.processedOn) / 1000 : 0);
  return {
    registry,
    observe(worker, queue) {
      worker.on('completed', (job: Job) => {
        completed.inc({ queue });
        duration.observe({ queue, outcome: 'completed' }, seconds(job));
      });
      worker.on('failed', (job: Job | undefined) => {
        failed.inc({ queue });
        if (job) duration.observe({ queue, outcome: 'failed' }, seconds(job));
      });
    },
  };
}
