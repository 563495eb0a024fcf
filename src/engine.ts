import { collectSnapshot, type CollectOptions } from './cluster/collect-snapshot';
import type { ClusterSnapshot } from './cluster/types';
import type { ClusterConfig, Config } from './config/schema';
import { diagnose } from './diagnosis/diagnose';
import type { DiagnosisReport } from './diagnosis/types';
import { ErrorCode, RedisMedicError } from './errors';
import { planFixes } from './repair/plan';

export interface DiagnosisRun {
  snapshot: ClusterSnapshot;
  report: DiagnosisReport;
}

/** Connection options for a configured cluster (seeds, auth, TLS, timeouts). */
export function collectOptionsFor(cluster: ClusterConfig, config: Pick<Config, 'timeouts'>): CollectOptions {
  return {
    cluster: cluster.name,
    seeds: cluster.seeds,
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
export async function diagnoseCluster(cluster: ClusterConfig, config: Pick<Config, 'timeouts'>, overrides: Partial<CollectOptions> = {}): Promise<DiagnosisRun> {
  const snapshot = await collectSnapshot({ ...collectOptionsFor(cluster, config), ...overrides });
  return analyseSnapshot(snapshot, cluster.spareNodes);
}

export function analyseSnapshot(snapshot: ClusterSnapshot, spareNodes: string[] = []): DiagnosisRun {
  if (!snapshot.probes.some((p) => p.status === 'ok')) {
    const reasons = snapshot.probes.map((p) => `  ${p.addr}: ${p.error ?? 'no answer'}`).join('\n');
    throw new RedisMedicError(ErrorCode.NoSeedAnswered, `no node of ${snapshot.cluster} answered:\n${reasons}`);
  }
  const report = diagnose(snapshot);
  report.fixes = planFixes(report, snapshot, { spareNodes });
  return { snapshot, report };
}

/** A cluster given on the command line as `host:port[,host:port]` rather than by name. */
export function adHocCluster(seeds: string, extra: Partial<ClusterConfig> = {}): ClusterConfig {
  return { name: seeds, seeds: seeds.split(',').map((s) => s.trim()).filter(Boolean), tls: false, spareNodes: [], ...extra };
}
