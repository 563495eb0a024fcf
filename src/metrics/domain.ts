import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';
import type { Config } from '../config/schema';
import type { DiagnosisReport, Verdict } from '../diagnosis/types';
import type { PollOutcome } from '../incidents/monitor';
import type { JobHooks } from '../jobs/types';
import { createIncidentStore, type IncidentStore } from '../incidents/store';
import type { RepairResult } from '../repair/types';
import { queueKeys } from '../queue-keys';
import { withDeadline } from '../deadline';

export type ClusterState = Verdict | 'unknown';
const STATES: ClusterState[] = ['ok', 'degraded', 'down', 'unknown'];
/** Cluster summaries older than this are reported as `unknown` (no process has polled lately). */
const STALE_AFTER_POLLS = 5;

/**
 * The metrics worth alerting on, beside the job metrics (src/jobs/metrics.ts). Counters and
 * histograms count what this process did (Prometheus sums the replicas); the per-cluster gauges
 * are read from the queue Redis at scrape time, so every replica reports the same state however
 * the polls were shared between them.
 */
export interface DomainMetrics {
  /** Adds these metrics (and the default process metrics) to a registry; once per registry. */
  attach(registry: Registry): void;
  /** After every monitor poll of this process. */
  onPoll(outcome: PollOutcome, at: number): Promise<void>;
  onDiagnosis(report: Pick<DiagnosisReport, 'verdict'>): void;
  onRepair(result: Pick<RepairResult, 'status' | 'plan'>): void;
  onSlackApiError(method: string, error: string): void;
}

export interface DomainMetricsDeps {
  config: Pick<Config, 'clusters' | 'queue' | 'monitor'>;
  redis: Redis;
  store?: IncidentStore;
  scrapeTimeoutMs?: number;
}

interface ClusterSummary {
  state: ClusterState;
  uncoveredSlots: number;
  at: number;
}

export function createDomainMetrics(deps: DomainMetricsDeps): DomainMetrics {
  const { redis, config } = deps;
  const store = deps.store ?? createIncidentStore(redis, config.queue.prefix);
  const clusters = config.clusters.map((c) => c.name);
  const summaryKey = queueKeys(config.queue.prefix).metricsSummary;
  const lastHealthyKey = queueKeys(config.queue.prefix).metricsLastHealthy;
  const timeout = deps.scrapeTimeoutMs ?? 1000;
  const staleMs = STALE_AFTER_POLLS * config.monitor.intervalMs;

  const summaries = async (): Promise<Map<string, ClusterSummary | null>> => {
    if (clusters.length === 0) return new Map();
    const raw = await withDeadline(redis.mget(...clusters.map(summaryKey)), timeout);
    return new Map(clusters.map((c, i) => [c, parse<ClusterSummary>(raw[i])]));
  };

  const metrics = [
    new Gauge({
      name: 'redis_medic_cluster_state',
      help: 'Last polled state of each configured cluster: 1 for its current state (ok, degraded, down, unknown), 0 for the others',
      labelNames: ['cluster', 'state'],
      registers: [],
      async collect() {
        const now = Date.now();
        const all = await summaries().catch(() => null);
        for (const cluster of clusters) {
          const s = all?.get(cluster);
          const state: ClusterState = s && now - s.at <= staleMs ? s.state : 'unknown';
          for (const candidate of STATES) this.set({ cluster, state: candidate }, candidate === state ? 1 : 0);
        }
      },
    }),
    new Gauge({
      name: 'redis_medic_cluster_uncovered_slots',
      help: 'Hash slots no healthy master serves, per cluster, at the last poll (what clients cannot reach)',
      labelNames: ['cluster'],
      registers: [],
      async collect() {
        const all = await summaries().catch(() => null);
        if (!all) return;
        for (const cluster of clusters) {
          const s = all.get(cluster);
          if (s) this.set({ cluster }, s.uncoveredSlots);
        }
      },
    }),
    new Gauge({
      name: 'redis_medic_incidents_open',
      help: 'Open incidents per cluster (0 or 1)',
      labelNames: ['cluster'],
      registers: [],
      async collect() {
        await Promise.all(
          clusters.map(async (cluster) => {
            try {
              this.set({ cluster }, (await withDeadline(store.getIncident(cluster), timeout)) ? 1 : 0);
            } catch {
              // Queue Redis down: /readyz says so; the gauge keeps its last value.
            }
          }),
        );
      },
    }),
  ];
  const diagnoses = new Counter({
    name: 'redis_medic_diagnoses_total',
    help: 'Full diagnoses made by this process (monitor and requested), by verdict',
    labelNames: ['verdict'],
    registers: [],
  });
  const repairs = new Counter({
    name: 'redis_medic_repairs_total',
    help: 'Repairs run by this process, by fix action and outcome (repaired, failed, refused)',
    labelNames: ['action', 'outcome'],
    registers: [],
  });
  const slackErrors = new Counter({
    name: 'redis_medic_slack_api_errors_total',
    help: 'Slack Web API calls that failed (an HTTP error, a timeout, or ok:false), by method and error',
    labelNames: ['method', 'error'],
    registers: [],
  });
  const detection = new Histogram({
    name: 'redis_medic_incident_detection_seconds',
    help: 'Time to detect: from the last poll that saw the cluster healthy to the incident being opened',
    labelNames: ['cluster'],
    buckets: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600],
    registers: [],
  });
  const resolution = new Histogram({
    name: 'redis_medic_incident_resolution_seconds',
    help: 'Time to resolve: from an incident being opened to it being resolved',
    labelNames: ['cluster'],
    buckets: [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200],
    registers: [],
  });
  const build = buildInfo();
  const buildInfoGauge = new Gauge({
    name: 'redis_medic_build_info',
    help: 'The running build: always 1, with its version, commit and Node.js version',
    labelNames: ['version', 'commit', 'node'],
    registers: [],
  });
  buildInfoGauge.set({ version: build.version, commit: build.commit, node: process.version }, 1);
  const all: Metric[] = [...metrics, diagnoses, repairs, slackErrors, detection, resolution, buildInfoGauge] as Metric[];
  const attached = new WeakSet<Registry>();

  return {
    attach(registry) {
      if (attached.has(registry)) return;
      attached.add(registry);
      for (const metric of all) registry.registerMetric(metric);
      collectDefaultMetrics({ register: registry });
    },
    async onPoll(outcome, at) {
      const state: ClusterState = outcome.verdict ?? (outcome.off ? 'unknown' : 'ok');
      if (outcome.verdict) diagnoses.inc({ verdict: outcome.verdict });
      const summary: ClusterSummary = { state, uncoveredSlots: outcome.uncoveredSlots ?? 0, at };
      const ttl = Math.max(60, Math.ceil((staleMs * 4) / 1000));
      const writes: Array<Promise<unknown>> = [redis.set(summaryKey(outcome.cluster), JSON.stringify(summary), 'EX', ttl)];
      if (state === 'ok' && !outcome.incident) writes.push(redis.set(lastHealthyKey(outcome.cluster), String(at), 'EX', 7 * 24 * 3600));
      await Promise.all(writes);
      if (outcome.incident?.action === 'opened') {
        const lastHealthy = Number(await redis.get(lastHealthyKey(outcome.cluster)));
        // Without a healthy poll on record (a fresh install, an outage older than a week) there is nothing to measure from.
        if (lastHealthy > 0 && lastHealthy <= at) detection.observe({ cluster: outcome.cluster }, (at - lastHealthy) / 1000);
      } else if (outcome.incident?.action === 'resolved') {
        const [resolved] = await store.listResolved(outcome.cluster, 1);
        if (resolved && resolved.id === outcome.incident.id) resolution.observe({ cluster: outcome.cluster }, resolved.durationMs / 1000);
      }
    },
    onDiagnosis(report) {
      diagnoses.inc({ verdict: report.verdict });
    },
    onRepair(result) {
      repairs.inc({ action: result.plan?.action ?? 'unknown', outcome: result.status });
    },
    onSlackApiError(method, error) {
      slackErrors.inc({ method, error });
    },
  };
}

/** dist/build-info.json (written by scripts/build.js), else the package version. */
export function buildInfo(): { version: string; commit: string } {
  for (const file of [path.join(__dirname, '..', 'build-info.json'), path.join(__dirname, '..', '..', 'dist', 'build-info.json')]) {
    const info = parse<{ version?: string; commit?: string }>(readIfExists(file));
    if (info?.version) return { version: info.version, commit: info.commit ?? 'unknown' };
  }
  const pkg = parse<{ version?: string }>(readIfExists(path.join(__dirname, '..', '..', 'package.json')));
  return { version: pkg?.version ?? 'unknown', commit: 'unknown' };
}

function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function parse<T>(text: string | null | undefined): T | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/** Job hooks that count finished diagnoses and repairs, then call `inner` (the Slack notifier). */
export function countingHooks(inner: JobHooks | undefined, metrics: () => DomainMetrics | undefined): JobHooks {
  return {
    ...inner,
    onDiagnosisDone: async (data, report, jobId) => {
      metrics()?.onDiagnosis(report);
      await inner?.onDiagnosisDone?.(data, report, jobId);
    },
    onRepairDone: async (data, result, jobId) => {
      metrics()?.onRepair(result);
      await inner?.onRepairDone?.(data, result, jobId);
    },
  };
}
