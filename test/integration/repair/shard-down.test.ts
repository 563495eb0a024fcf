// A shard whose master and only replica die together (one host, rack or power feed), on a real
// 3+3 cluster whose nodes keep their data (AOF): the failed replica is the shard's other copy,
// not a ghost; the ways back are ranked by data kept; and restarting the replica alone, then
// following the plan redis-medic offers, brings the shard back with its keys.
import assert from 'node:assert/strict';
import { executePlan } from '../../../src/repair/executor';
import { useCluster, type TestCluster, type TestNode } from '../../helpers/cluster';
import { assertOkEverywhere, clusterConfigOf, config, diagnosisOf, planOf, useQueueRedis } from './support';

/** Keys whose slots the master owns (0-5460 for the first of 3 masters), written and replicated. */
async function writeReplicatedKeys(c: TestCluster, master: TestNode, count: number): Promise<Map<string, string>> {
  const client = c.client(master);
  const keys = new Map<string, string>();
  for (let i = 0; keys.size < count; i++) {
    const key = `shard-key-${i}`;
    const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
    if (!master.slots.some(([a, b]) => slot >= a && slot <= b)) continue;
    keys.set(key, `value-${i}`);
    await client.set(key, `value-${i}`);
  }
  // WAIT: the replica acknowledged every write (and, with appendfsync always, has it on disk).
  assert.equal(await client.call('WAIT', '1', '2000'), 1, 'the replica acknowledged the writes');
  return keys;
}

describe('repair: a shard with every copy down (3 masters + 3 replicas, AOF)', function () {
  this.timeout(60_000);
  const queue = useQueueRedis();
  const cluster = useCluster({ masters: 3, replicasPerMaster: 1, persistence: 'aof' });

  it('names SHARD_ALL_COPIES_DOWN, forgets nothing, ranks restarts first; the replica restarted alone takes over with its keys', async () => {
    const c = cluster();
    const master = c.masters()[0]!;
    const replica = c.replicasOf(master)[0]!;
    const keys = await writeReplicatedKeys(c, master, 20);
    assert.equal(await c.client(replica).dbsize(), keys.size);

    await Promise.all([c.kill(master), c.kill(replica)]);
    await c.waitUntilFlagged(master, 'fail');
    const report = await diagnosisOf(clusterConfigOf(c));

    // The root cause names the shard and both copies (it used to say "has no replica").
    assert.equal(report.primary, 'SHARD_ALL_COPIES_DOWN', report.findings.map((f) => f.code).join());
    const shard = report.findings[0]!;
    assert.deepEqual(shard.nodes, [master.id, replica.id]);
    assert.deepEqual(shard.slots, [[0, 5460]]);
    assert.match(shard.detail, /not a ghost/);
    // The failed replica is no ghost, and no plan forgets it.
    assert.ok(!report.findings.some((f) => f.code === 'GHOST_NODES' && f.nodes.includes(replica.id)));
    assert.ok(!report.fixes.some((p) => p.action === 'FORGET_GHOST_NODES'), report.fixes.map((p) => p.title).join('\n'));
    // Ranked by data kept: the master with its data, then the replica (promoted by hand), then empty slots.
    const order = report.fixes.map((p) => `${p.action} ${p.title}`);
    assert.match(order[0]!, new RegExp(`^RESTART_NODE Restart redis-server on ${master.addr} with its data dir`));
    assert.match(
      order[1]!,
      new RegExp(
        `^RESTART_NODE If ${master.addr} cannot come back: restart its replica ${replica.addr} with its data dir, then promote it \\(CLUSTER FAILOVER FORCE\\)`,
      ),
    );
    const assign = order.findIndex((t) => t.startsWith('ASSIGN_UNCOVERED_SLOTS'));
    assert.ok(assign > 1, order.join('\n'));

    // Only the replica comes back (the master's machine is lost).
    await c.restart(replica);
    assert.equal(await c.client(replica).dbsize(), keys.size, 'the replica came back with its keys (AOF)');
    // It learns that its master is failed; Redis does not promote it by itself (redis#13234).
    await c.waitUntilFlagged(master, 'fail');
    const target = clusterConfigOf(c);
    const after = await diagnosisOf(target);
    assert.equal(after.primary, 'REPLICA_NOT_PROMOTED', after.findings.map((f) => f.code).join());
    assert.match(after.findings[0]!.detail, /restarted after its master died \(master_link_down_since_seconds:-1\)/);
    const promote = planOf(after, 'PROMOTE_REPLICA');
    assert.deepEqual(
      promote.steps.map((s) => `${s.node}> ${s.command.join(' ')}`),
      [`${replica.addr}> CLUSTER FAILOVER FORCE`],
    );

    const result = await executePlan({
      cluster: target,
      config,
      planId: promote.id,
      lockRedis: queue.redis(),
      lockPrefix: queue.prefix,
      actor: 'U0TEST',
    });
    assert.equal(result.status, 'repaired', `${result.reason ?? ''}\n${result.verification ?? ''}`);
    await assertOkEverywhere(c);
    // The shard's keys are served again, by the promoted replica.
    for (const [key, value] of keys) assert.equal(await c.client(replica).get(key), value, key);
  });
});
