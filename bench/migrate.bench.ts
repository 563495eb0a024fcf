// `npm run bench migrate`: an interrupted resharding with keys left on the source of an open
// slot, closed by our key-move plan (MIGRATE in batches of 100, then SETSLOT NODE) and, as the
// reference on the same state, by `redis-cli --cluster fix` (MIGRATE 10 keys at a time). Prints
// the time per batch, which backs EXPECTED_MS_PER_BATCH in src/repair/plans/close-open-slots.ts.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { parseConfig } from '../src/config/load';
import type { ClusterConfig } from '../src/config/schema';
import { diagnoseCluster } from '../src/engine';
import { executePlan } from '../src/repair/executor';
import { EXPECTED_MS_PER_BATCH, MOVE_BATCH } from '../src/repair/plans/close-open-slots';
import { spawnCluster, type TestCluster } from '../test/helpers/cluster';
import { killAllSpawned } from '../test/helpers/processes';
import { hashTagOf } from '../test/helpers/slot-keys';

const run = promisify(execFile);
const KEYS = Number(process.env.BENCH_MIGRATE_KEYS ?? 10_000);
const SLOT = 100;
const config = parseConfig({});

/** A cluster with slot 100 open from its owner to another master and KEYS small keys on the owner. */
async function interrupted(): Promise<{ c: TestCluster; cluster: ClusterConfig }> {
  const c = await spawnCluster({ masters: 3 });
  const source = c.masters().find((m) => m.slots.some(([a, b]) => SLOT >= a && SLOT <= b))!;
  const target = c.masters().find((m) => m !== source)!;
  const client = c.client(source);
  const tag = await hashTagOf(client, SLOT);
  for (let from = 0; from < KEYS; from += 1000) {
    const pipeline = client.pipeline();
    for (let i = from; i < Math.min(KEYS, from + 1000); i++) pipeline.set(`{${tag}}:${i}`, `value-${i}`);
    await pipeline.exec();
  }
  await c.openSlot(SLOT, source, target);
  const cluster: ClusterConfig = {
    name: `bench-${randomUUID().slice(0, 8)}`,
    seeds: c.nodes.map((n) => n.addr),
    tls: false,
    spareNodes: [],
  };
  return { c, cluster };
}

export default async function bench(): Promise<void> {
  const prefix = `bench-${randomUUID()}`;
  const queue = new Redis({ host: '127.0.0.1', port: 6379, connectTimeout: 1000, maxRetriesPerRequest: 1 });
  try {
    const ours = await interrupted();
    let oursMs: number;
    try {
      const { report } = await diagnoseCluster(ours.cluster, config);
      const plan = report.fixes.find((p) => p.steps.some((s) => s.moveKeys));
      if (!plan) throw new Error(`no key-move plan: ${report.fixes.map((p) => p.title).join(' | ')}`);
      const result = await executePlan({
        cluster: ours.cluster,
        config,
        planId: plan.id,
        lockRedis: queue,
        lockPrefix: prefix,
        actor: 'bench',
      });
      if (result.status !== 'repaired') throw new Error(`${result.status}: ${result.reason}`);
      oursMs = result.steps[0]!.ms;
      const batches = Math.ceil(KEYS / MOVE_BATCH);
      console.log(`${KEYS} small keys left on the source of an open slot (loopback, node-timeout 1000 ms)`);
      console.log(
        `ours: key move ${oursMs} ms in ${batches} batches of ${MOVE_BATCH} = ${(oursMs / batches).toFixed(1)} ms per batch (estimate shown to people: ${EXPECTED_MS_PER_BATCH} ms); whole repair incl. re-diagnosis and verification: ${result.durationMs} ms`,
      );
    } finally {
      await ours.c.teardown();
    }

    const ref = await interrupted();
    try {
      const started = Date.now();
      await run('redis-cli', ['--cluster', 'fix', ref.cluster.seeds[0]!], { timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
      const refMs = Date.now() - started;
      console.log(
        `reference: redis-cli --cluster fix on the same state: ${refMs} ms (ours/reference ${(oursMs / refMs).toFixed(2)}x, key move only)`,
      );
    } finally {
      await ref.c.teardown();
    }
  } finally {
    const keys = await queue.keys(`${prefix}:*`);
    if (keys.length) await queue.del(...keys);
    queue.disconnect();
    await killAllSpawned();
  }
}
