// `npm run bench repair`: time from executePlan() to verified (every node cluster_state:ok) for
// the must-show repairs, on real clusters with node-timeout 1000 ms. Goal: at most 5 s each.
// Reference, measured in the same run: Redis's own automatic failover (3+3, one master
// SIGKILLed, until every node says ok), i.e. how fast the cluster heals when it can by itself.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { parseConfig } from '../src/config/load';
import type { ClusterConfig } from '../src/config/schema';
import { diagnoseCluster } from '../src/engine';
import { executePlan } from '../src/repair/executor';
import type { FixAction, FixPlan } from '../src/repair/types';
import { spawnCluster, type SpawnClusterOptions, type TestCluster } from '../test/helpers/cluster';
import { killAllSpawned } from '../test/helpers/processes';

const GOAL_MS = 5000;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const config = parseConfig({});

interface Scenario {
  name: string;
  cluster: SpawnClusterOptions;
  breakIt(c: TestCluster): Promise<void>;
  action: FixAction;
  pick?(plan: FixPlan, c: TestCluster): boolean;
}

const scenarios: Scenario[] = [
  {
    name: 'master down, no replica -> spare takes slots',
    cluster: { masters: 3, spares: 1 },
    async breakIt(c) {
      const [m] = c.masters();
      await c.kill(m!);
      await c.waitUntilFlagged(m!, 'fail');
    },
    action: 'ASSIGN_UNCOVERED_SLOTS',
    pick: (p, c) => p.steps.some((s) => s.node === c.spares()[0]!.addr),
  },
  {
    name: 'master down, no replica -> live master takes slots',
    cluster: { masters: 3 },
    async breakIt(c) {
      const [m] = c.masters();
      await c.kill(m!);
      await c.waitUntilFlagged(m!, 'fail');
    },
    action: 'ASSIGN_UNCOVERED_SLOTS',
  },
  {
    name: '2 of 3 masters down (3+3) -> takeovers',
    cluster: { masters: 3, replicasPerMaster: 1 },
    async breakIt(c) {
      for (const v of await c.killMasters(2)) await c.waitUntilFlagged(v, 'fail?');
    },
    action: 'PROMOTE_REPLICA',
  },
  {
    name: 'slots 16000-16383 unassigned -> covered',
    cluster: { masters: 3, slots: [[0, 15999]] },
    async breakIt(c) {
      await c.waitFor((infos) => [...infos.values()].every((t) => t.includes('cluster_slots_assigned:16000')));
    },
    action: 'ASSIGN_UNCOVERED_SLOTS',
  },
  {
    name: 'open slot -> closed (undo)',
    cluster: { masters: 3 },
    async breakIt(c) {
      const [a, b] = c.masters();
      await c.openSlot(100, a!, b!);
    },
    action: 'CLOSE_OPEN_SLOTS',
  },
  {
    name: 'ghost -> forgotten everywhere',
    cluster: { masters: 3 },
    async breakIt(c) {
      await c.makeGhost();
    },
    action: 'FORGET_GHOST_NODES',
  },
];

interface Sample {
  verifiedMs: number;
  stepsMs: number;
  verifyMs: number;
  totalMs: number;
}

async function measureRepair(s: Scenario, queue: Redis, prefix: string): Promise<Sample> {
  const c = await spawnCluster(s.cluster);
  try {
    await s.breakIt(c);
    const cluster: ClusterConfig = {
      name: `bench-${randomUUID().slice(0, 8)}`,
      seeds: c.nodes.filter((n) => n.role !== 'spare' && n.alive).map((n) => n.addr),
      tls: false,
      spareNodes: c.spares().map((n) => n.addr),
    };
    const { report } = await diagnoseCluster(cluster, config);
    const plan = report.fixes.find((p) => p.action === s.action && (s.pick?.(p, c) ?? true));
    if (!plan) throw new Error(`${s.name}: no ${s.action} plan (${report.fixes.map((p) => p.id).join(', ')})`);
    const result = await executePlan({ cluster, config, planId: plan.id, lockRedis: queue, lockPrefix: prefix, actor: 'bench' });
    if (result.status !== 'repaired' || !result.timings)
      throw new Error(`${s.name}: ${result.status}: ${result.reason}\n${result.verification ?? ''}`);
    const t = result.timings;
    return {
      verifiedMs: t.lockMs + t.rediagnoseMs + t.stepsMs + t.verifyMs,
      stepsMs: t.stepsMs,
      verifyMs: t.verifyMs,
      totalMs: result.durationMs,
    };
  } finally {
    await c.teardown();
  }
}

/** Redis heals a 3+3 cluster by itself when one master dies: time from SIGKILL to ok everywhere. */
async function measureAutomaticFailover(): Promise<number> {
  const c = await spawnCluster({ masters: 3, replicasPerMaster: 1 });
  try {
    const [m] = c.masters();
    const started = Date.now();
    await c.kill(m!);
    await c.waitUntilFlagged(m!, 'fail');
    await c.waitUntilOk({ timeoutMs: 30_000 });
    return Date.now() - started;
  } finally {
    await c.teardown();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export default async function bench(): Promise<void> {
  const prefix = `bench-${randomUUID()}`;
  const queue = new Redis({ host: '127.0.0.1', port: 6379, connectTimeout: 1000, maxRetriesPerRequest: 1 });
  try {
    const references: number[] = [];
    for (let i = 0; i < RUNS; i++) references.push(await measureAutomaticFailover());
    const reference = median(references);
    console.log(`node-timeout 1000 ms, ${RUNS} run(s) each, medians; goal <= ${GOAL_MS} ms from execute to verified`);
    console.log(
      `reference: Redis automatic failover (3+3, one master killed) until ok everywhere: ${reference} ms (runs: ${references.join(', ')})`,
    );
    const rows: string[][] = [
      ['scenario', 'execute->verified', 'steps', 'verify', 'incl. final report', 'vs reference', 'goal', 'runs (ms)'],
    ];
    for (const s of scenarios) {
      const samples: Sample[] = [];
      for (let i = 0; i < RUNS; i++) samples.push(await measureRepair(s, queue, prefix));
      const verified = median(samples.map((x) => x.verifiedMs));
      rows.push([
        s.name,
        `${verified} ms`,
        `${median(samples.map((x) => x.stepsMs))} ms`,
        `${median(samples.map((x) => x.verifyMs))} ms`,
        `${median(samples.map((x) => x.totalMs))} ms`,
        `${(verified / reference).toFixed(2)}x`,
        Math.max(...samples.map((x) => x.verifiedMs)) <= GOAL_MS ? 'met' : 'MISSED',
        samples.map((x) => x.verifiedMs).join(', '),
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  } finally {
    const keys = await queue.keys(`${prefix}:*`);
    if (keys.length) await queue.del(...keys);
    queue.disconnect();
    await killAllSpawned();
  }
}
