// Keys in a chosen slot, asked from the cluster itself (CLUSTER KEYSLOT), not computed here.
import type { Redis } from 'ioredis';
import type { TestCluster, TestNode } from '../../src/devtools/local-cluster';

/** A hash tag whose keys (`{tag}:anything`) all hash to `slot`. */
export async function hashTagOf(client: Redis, slot: number): Promise<string> {
  for (let from = 0; from < 200_000; from += 2000) {
    const pipeline = client.pipeline();
    for (let i = from; i < from + 2000; i++) pipeline.call('CLUSTER', 'KEYSLOT', `t${i}`);
    const index = ((await pipeline.exec()) ?? []).findIndex(([, s]) => Number(s) === slot);
    if (index >= 0) return `t${from + index}`;
  }
  throw new Error(`no hash tag found for slot ${slot}`);
}

/**
 * For moving `slot`: the master that owns it, another master to move it to, and a hash tag whose
 * keys land in it.
 */
export async function slotMove(c: TestCluster, slot: number): Promise<{ source: TestNode; target: TestNode; tag: string }> {
  const source = c.masters().find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b))!;
  const target = c.masters().find((m) => m !== source)!;
  return { source, target, tag: await hashTagOf(c.client(source), slot) };
}
