// An interrupted resharding with keys on both ends of a slot, made live the way redis-cli
// --cluster reshard leaves it: IMPORTING then MIGRATING, some keys moved by MIGRATE, one MIGRATE
// interrupted between the target's RESTORE and the source's DEL (the key exists on both ends),
// the source's copy written again since, and a client writing a new key through the ASK redirect.
// The diagnosis offers only what can work (the move), the executor moves every key and closes
// the slot, and afterwards a cluster client reads every key, every node says cluster_state:ok
// and `redis-cli --cluster check` is clean.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { diagnoseCluster } from '../../../src/engine';
import { executePlan } from '../../../src/repair/executor';
import { useCluster } from '../../helpers/cluster';
import { offeredPlanProblems } from '../../helpers/offered-plans';
import { slotMove } from '../../helpers/slot-keys';
import { assertOkEverywhere, clusterConfigOf, config, diagnosisOf, planOf, useQueueRedis } from './support';

const run = promisify(execFile);
const SLOT = 100;
const KEYS = 250;

describe('repair: an open slot with keys on both ends, interrupted live', function () {
  this.timeout(60_000);
  const queue = useQueueRedis();
  const cluster = useCluster({ masters: 3 });
  let client: Cluster | undefined;
  after(() => client?.disconnect());

  it('moves the keys left on the source (MIGRATE in batches), closes the slot, and every key stays readable', async () => {
    const c = cluster();
    const { source, target, tag } = await slotMove(c, SLOT);
    const key = (i: number | string): string => `{${tag}}:${i}`;
    const s = c.client(source);
    const t = c.client(target);

    // Before the resharding: every key on the source, a few types.
    const expected = new Map<string, string>();
    for (let i = 0; i < KEYS; i++) {
      await s.set(key(i), `value-${i}`);
      expected.set(key(i), `value-${i}`);
    }
    await s.hset(key('hash'), 'field', 'h');
    await s.rpush(key('list'), 'a', 'b');

    // The resharding starts and moves the first 100 keys, as redis-cli does.
    await c.openSlot(SLOT, source, target);
    const moved = Array.from({ length: 100 }, (_, i) => key(i));
    assert.equal(await s.call('MIGRATE', target.host, String(target.port), '', '0', '5000', 'KEYS', ...moved), 'OK');
    // One MIGRATE interrupted after the target's RESTORE, before the source's DEL: on both ends.
    const dump = await s.dumpBuffer(key(100));
    assert.equal(await t.call('RESTORE-ASKING', key(100), '0', dump!), 'OK');
    // Clients keep using the source's copy (it still holds the key), so it moves on.
    await s.set(key(100), 'written after the interrupted MIGRATE');
    expected.set(key(100), 'written after the interrupted MIGRATE');

    // A client writes a new key: the source does not hold it, so ASK sends it to the target.
    client = new Cluster([{ host: source.host, port: source.port }], { enableReadyCheck: true, scaleReads: 'master' });
    await client.set(key('new'), 'via ASK');
    expected.set(key('new'), 'via ASK');
    assert.ok(
      ((await t.call('CLUSTER', 'GETKEYSINSLOT', String(SLOT), '1000')) as string[]).includes(key('new')),
      'the new key landed on the target',
    );
    assert.equal(Number(await t.call('CLUSTER', 'COUNTKEYSINSLOT', String(SLOT))), 102);

    const target_ = clusterConfigOf(c);
    const report = await diagnosisOf(target_);
    assert.equal(report.primary, 'OPEN_SLOTS');
    assert.deepEqual(await offeredPlanProblems(report), [], 'no offered plan fails its own precondition');
    assert.match(report.findings[0]!.detail, /\(152 keys on .*, 102 keys on .*\)/);
    const closing = report.fixes.filter((p) => p.action === 'CLOSE_OPEN_SLOTS');
    assert.equal(closing.length, 1, `only the move can work here, got: ${closing.map((p) => p.title).join(' | ')}`);
    const plan = planOf(report, 'CLOSE_OPEN_SLOTS', (p) => /move the 152 keys/.test(p.title));
    assert.match(plan.preconditions.join('\n'), /Keys to move: 152 in 2 batches/);

    const result = await executePlan({
      cluster: target_,
      config,
      planId: plan.id,
      lockRedis: queue.redis(),
      lockPrefix: queue.prefix,
      actor: 'U0TEST',
    });
    assert.equal(
      result.status,
      'repaired',
      `${result.reason ?? ''}\n${result.verification ?? ''}\n${JSON.stringify(result.steps, null, 2)}`,
    );
    assert.match(result.steps[0]!.reply, /^moved 152 keys of slot 100 to .* in 2 batches/);

    // Every key through a cluster client, with the value clients last wrote.
    client.disconnect();
    client = new Cluster([{ host: target.host, port: target.port }], { enableReadyCheck: true });
    for (const [k, v] of expected) assert.equal(await client.get(k), v, k);
    assert.deepEqual(await client.hgetall(key('hash')), { field: 'h' });
    assert.deepEqual(await client.lrange(key('list'), 0, -1), ['a', 'b']);
    assert.equal(Number(await t.call('CLUSTER', 'COUNTKEYSINSLOT', String(SLOT))), KEYS + 3);
    assert.equal(Number(await s.call('CLUSTER', 'COUNTKEYSINSLOT', String(SLOT))), 0);

    await assertOkEverywhere(c);
    const check = await run('redis-cli', ['--cluster', 'check', source.addr], { timeout: 20_000 });
    assert.match(check.stdout, /\[OK\] All nodes agree about slots configuration\./, check.stdout);
    assert.match(check.stdout, /\[OK\] All 16384 slots covered\./, check.stdout);
    assert.doesNotMatch(check.stdout, /\[WARNING\]|\[ERR\]/, check.stdout);
  });

  it('long key names: a batch of names over the read cap (collection.maxReplyBytes) is halved until it fits, and every key moves', async () => {
    const c = cluster();
    const slot = 200;
    const { source, target, tag } = await slotMove(c, slot);
    const s = c.client(source);
    // 150 keys with 2 KB names: a batch of 100 names is about 200 KB, over a 64 KiB cap.
    const names = Array.from({ length: 150 }, (_, i) => `{${tag}}:${String(i).padStart(2048, 'k')}`);
    for (const name of names) await s.set(name, 'v');
    await c.openSlot(slot, source, target);

    const capped = { ...config, collection: { ...config.collection, maxReplyBytes: 64 * 1024 } };
    const cluster_ = clusterConfigOf(c);
    const { report } = await diagnoseCluster(cluster_, capped);
    const plan = planOf(report, 'CLOSE_OPEN_SLOTS', (p) => /move the 150 keys/.test(p.title));
    const result = await executePlan({
      cluster: cluster_,
      config: capped,
      planId: plan.id,
      lockRedis: queue.redis(),
      lockPrefix: queue.prefix,
      actor: 'U0TEST',
    });
    assert.equal(result.status, 'repaired', `${result.reason ?? ''}\n${JSON.stringify(result.steps, null, 2)}`);
    assert.match(result.steps[0]!.reply, /^moved 150 keys of slot 200 to /);
    assert.equal(Number(await c.client(target).call('CLUSTER', 'COUNTKEYSINSLOT', String(slot))), 150);
    await assertOkEverywhere(c);
  });
});
