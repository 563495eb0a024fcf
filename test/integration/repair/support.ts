// Shared by the repair integration tests: config for a test cluster, the queue Redis with a
// unique prefix (removed afterwards), and small assertions on every node's state.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { parseConfig } from '../../../src/config/load';
import type { ClusterConfig, Config } from '../../../src/config/schema';
import { diagnoseCluster } from '../../../src/engine';
import type { FixAction, FixPlan, PlannedReport } from '../../../src/repair/types';
import { parseInfo, type TestCluster } from '../../helpers/cluster';

export const config: Config = parseConfig({});

export function clusterConfigOf(c: TestCluster, name = `test-${randomUUID().slice(0, 8)}`): ClusterConfig {
  const seeds = c.nodes.filter((n) => n.role !== 'spare' && n.alive).map((n) => n.addr);
  return { name, seeds, tls: false, spareNodes: c.spares().map((s) => s.addr) };
}

export async function diagnosisOf(cluster: ClusterConfig): Promise<PlannedReport> {
  return (await diagnoseCluster(cluster, config)).report;
}

export function planOf(report: PlannedReport, action: FixAction, pick: (p: FixPlan) => boolean = () => true): FixPlan {
  const plan = report.fixes.find((p) => p.action === action && pick(p));
  if (!plan) {
    throw new Error(
      `no ${action} plan in the diagnosis (${report.verdict}, ${report.findings.map((f) => f.code).join(', ')}); plans: ${report.fixes.map((p) => `${p.id} ${p.title}`).join(' | ') || 'none'}`,
    );
  }
  return plan;
}

/** The queue Redis on 127.0.0.1:6379 with a prefix of its own; `cleanup()` deletes its keys. */
export function useQueueRedis(): { redis: () => Redis; prefix: string } {
  const prefix = `test-${randomUUID()}`;
  let redis: Redis | undefined;
  before(() => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, connectTimeout: 1000, commandTimeout: 2000, maxRetriesPerRequest: 1 });
  });
  after(async () => {
    if (!redis) return;
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  return { redis: () => redis!, prefix };
}

/** Every live node (spares once they joined included) reports cluster_state:ok and all slots ok. */
export async function assertOkEverywhere(c: TestCluster): Promise<void> {
  const nodes = c.nodes.filter((n) => n.alive && !n.frozen);
  for (const node of nodes) {
    const info = parseInfo((await c.client(node).call('CLUSTER', 'INFO')) as string);
    if (node.role === 'spare' && info['cluster_known_nodes'] === '1') continue;
    assert.equal(info['cluster_state'], 'ok', `${node.addr} says cluster_state:${info['cluster_state']}`);
    assert.equal(info['cluster_slots_ok'], '16384', `${node.addr} says cluster_slots_ok:${info['cluster_slots_ok']}`);
  }
}
