import type { CollectOptions } from './cluster/collect-snapshot';
import { clusterScope, type AddressScope } from './cluster/scope';
import type { ClusterSnapshot } from './cluster/types';
import type { ClusterConfig, Config } from './config/schema';
import { diagnoseModel, diagnoseModelInTurns } from './diagnosis/diagnose';
import { buildModel, buildModelInTurns, type ClusterModel } from './diagnosis/model';
import type { DiagnosisReport } from './diagnosis/types';
import { ErrorCode, errorMessage, RedisMedicError } from './errors';
import { keyCountRequest, planFixes } from './repair/plan';
import type { LastKnownKeys, LastKnownLookup, PlannedReport, PlanOutcome } from './repair/types';
import { nextTurn } from './turns';

/**
 * The collector (and ioredis with it) loads with the first live diagnosis: `analyze`, which
 * reads a paste and connects to nothing, never needs it (about 90 ms of CPU at start-up).
 */
function collector(): typeof import('./cluster/collect-snapshot') {
  return require('./cluster/collect-snapshot') as typeof import('./cluster/collect-snapshot');
}

export interface DiagnoseExtras {
  lastKnown?: LastKnownLookup;
}

export interface DiagnosisRun {
  snapshot: ClusterSnapshot;
  /** The diagnosis and its plans, side by side (see PlannedReport). */
  report: PlannedReport;
}

/** What a diagnosis needs of the global config: timeouts, and the read caps (defaults when absent). */
export type CollectConfig = Pick<Config, 'timeouts'> & Partial<Pick<Config, 'collection'>>;

/**
 * A diagnosis of one configured cluster, of which callers read only the report: diagnoseCluster
 * on this thread, or (in `start`, beside the Slack app) the same on the probe thread.
 */
export type ClusterDiagnosis = (cluster: ClusterConfig, config: CollectConfig) => Promise<Pick<DiagnosisRun, 'report'>>;

/**
 * Connection options for a configured cluster (seeds, auth, TLS, timeouts), with its scope from
 * the config: the seeds, spares and allowedNetworks decide where collection may go, never what
 * the cluster lists.
 */
export function collectOptionsFor(cluster: ClusterConfig, config: CollectConfig): CollectOptions {
  return {
    cluster: cluster.name,
    seeds: cluster.seeds,
    scope: clusterScope(cluster),
    ...(config.collection ? { limits: config.collection } : {}),
    ...(cluster.username ? { username: cluster.username } : {}),
    ...(cluster.password ? { password: cluster.password } : {}),
    ...(cluster.tls ? { tls: true } : {}),
    connectTimeoutMs: config.timeouts.connectMs,
    commandTimeoutMs: config.timeouts.commandMs,
  };
}

/**
 * The whole pipeline for one cluster: collect (the only I/O), diagnose, plan. Throws
 * NoSeedAnswered (with each address's reason) when not one node answered.
 */
export async function diagnoseCluster(
  cluster: ClusterConfig,
  config: CollectConfig,
  overrides: Partial<CollectOptions> = {},
  extras: DiagnoseExtras = {},
): Promise<DiagnosisRun> {
  const options = { ...collectOptionsFor(cluster, config), ...overrides };
  const scope = (options.scope ??= clusterScope(cluster));
  const snapshot = await collector().collectSnapshot(options);
  // Between the CPU-bound steps of a big cluster (model, rules, plans), whatever else waits on
  // this event loop gets its turn: a Slack ack in the same process, another cluster's poll.
  await nextTurn();
  const model = await modelInTurns(snapshot);
  await nextTurn();
  const report = await diagnoseModelInTurns(model);
  await nextTurn();
  await countOrphanKeys(snapshot, report, model, options);
  if (!extras.lastKnown) return { snapshot, report: withFixes(report, snapshot, { spareNodes: cluster.spareNodes, model, scope }) };
  // History only matters for masters that are down: their keys cannot be counted any more.
  const down = report.nodes.filter((n) => n.health === 'down' && n.slots.length > 0).map((n) => n.id);
  let lastKnown = new Map<string, LastKnownKeys>();
  if (down.length) {
    try {
      lastKnown = await extras.lastKnown(down);
    } catch {
      // The history is a nicety: a diagnosis never fails for want of it.
    }
  }
  return { snapshot, report: withFixes(report, snapshot, { spareNodes: cluster.spareNodes, lastKnown, model, scope }) };
}

/**
 * Second, small round of questions, only when slots have no live owner: how many keys each live
 * master holds in them (the planner gives slots to where their keys are). The counts go into
 * the snapshot, as raw replies, so a saved snapshot plans the same way again.
 */
async function countOrphanKeys(
  snapshot: ClusterSnapshot,
  report: DiagnosisReport,
  model: ClusterModel,
  options: CollectOptions,
): Promise<void> {
  const request = keyCountRequest(report, model);
  if (!request) return;
  const counts = await collector().countOrphanSlotKeys(request, options);
  for (const probe of snapshot.probes) {
    const counted = counts.get(probe.addr);
    if (counted && probe.replies) probe.replies.slotKeys = counted;
  }
}

export function analyseSnapshot(snapshot: ClusterSnapshot, spareNodes: string[] = [], scope?: AddressScope): DiagnosisRun {
  const { report, model } = diagnoseOrThrow(snapshot);
  return { snapshot, report: withFixes(report, snapshot, { spareNodes, model, ...(scope ? { scope } : {}) }) };
}

function diagnoseOrThrow(snapshot: ClusterSnapshot): { report: DiagnosisReport; model: ClusterModel } {
  const model = modelOrThrow(snapshot);
  return { report: diagnoseModel(model), model };
}

function modelOrThrow(snapshot: ClusterSnapshot): ClusterModel {
  assertAnswered(snapshot);
  return buildModel(snapshot);
}

/** The same, giving the event loop a turn every few milliseconds of work (a big cluster's model). */
async function modelInTurns(snapshot: ClusterSnapshot): Promise<ClusterModel> {
  assertAnswered(snapshot);
  return buildModelInTurns(snapshot);
}

function assertAnswered(snapshot: ClusterSnapshot): void {
  if (!snapshot.probes.some((p) => p.status === 'ok')) {
    const reasons = snapshot.probes.map((p) => `  ${p.addr}: ${p.error ?? 'no answer'}`).join('\n');
    throw new RedisMedicError(ErrorCode.NoSeedAnswered, `no node of ${snapshot.cluster} answered:\n${reasons}`);
  }
}

/**
 * Plans are derived data: a bug in one planner must not take the diagnosis (the part people
 * need most at 3 a.m.) down with it. The report then says planning failed and why.
 */
function withFixes(report: DiagnosisReport, snapshot: ClusterSnapshot, options: Parameters<typeof planFixes>[2]): PlannedReport {
  try {
    return withPlans(report, { fixes: planFixes(report, snapshot, options) });
  } catch (err) {
    return withPlans(report, { fixes: [], planningError: `fix planning failed: ${errorMessage(err)}` });
  }
}

/**
 * The report and its plan outcome as one object, fields in the order the JSON output has always
 * had: the report's up to its findings, the fixes, then the offline notes, then a planning error.
 */
export function withPlans(report: DiagnosisReport, outcome: PlanOutcome): PlannedReport {
  const { offline, limitations, ...head } = report;
  return {
    ...head,
    fixes: outcome.fixes,
    ...(offline !== undefined ? { offline } : {}),
    ...(limitations !== undefined ? { limitations } : {}),
    ...(outcome.planningError !== undefined ? { planningError: outcome.planningError } : {}),
  };
}

/** A cluster given on the command line as `host:port[,host:port]` rather than by name. */
export function adHocCluster(seeds: string, extra: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name: seeds,
    seeds: seeds
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    tls: false,
    spareNodes: [],
    ...extra,
  };
}
