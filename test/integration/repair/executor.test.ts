// The must-show repairs, each on a real redis-server cluster (node-timeout 1000 ms), each
// ending with cluster_state:ok on every node; plus the executor's safety: stale plans refused,
// one repair per cluster at a time, preconditions checked before anything changes.
import assert from 'node:assert/strict';
import { createAuditLog } from '../../../src/audit/audit-log';
import { silentLogger } from '../../../src/logging/logger';
import { executePlan, type ExecuteOptions } from '../../../src/repair/executor';
import { queueKeys } from '../../../src/queue-keys';
import type { RepairResult } from '../../../src/repair/types';
import type { RepairProgress } from '../../../src/jobs/types';
import { eventually, parseClusterNodes, useCluster, type TestCluster } from '../../helpers/cluster';
import { assertOkEverywhere, clusterConfigOf, config, diagnosisOf, planOf, useQueueRedis } from './support';

describe('repair: executePlan on real clusters', function () {
  this.timeout(60_000);
  const queue = useQueueRedis();

  function options(cluster: ReturnType<typeof clusterConfigOf>, planId: string, extra: Partial<ExecuteOptions> = {}): ExecuteOptions {
    return { cluster, config, planId, lockRedis: queue.redis(), lockPrefix: queue.prefix, actor: 'U0TEST', ...extra };
  }

  function assertRepaired(result: RepairResult): void {
    assert.equal(
      result.status,
      'repaired',
      `${result.reason ?? ''}\n${result.verification ?? ''}\n${JSON.stringify(result.steps, null, 2)}`,
    );
    assert.equal(result.finalReport?.verdict === 'down', false, 'the final report still says down');
  }

  describe('a master without replica is killed, a spare is configured', () => {
    const cluster = useCluster({ masters: 3, spares: 1 });

    it('advises a restart first, then gives the slots to the spare (MEET, ADDSLOTSRANGE, BUMPEPOCH)', async () => {
      const c = cluster();
      const [victim] = c.masters();
      await c.kill(victim!);
      await c.waitUntilFlagged(victim!, 'fail');
      const target = clusterConfigOf(c);
      const report = await diagnosisOf(target);

      assert.equal(report.fixes[0]?.action, 'RESTART_NODE', 'restart advice comes first when the data may survive');
      assert.equal(report.fixes[0]?.executable, false);
      const advice = await executePlan(options(target, report.fixes[0]!.id));
      assert.equal(advice.status, 'refused');
      assert.match(advice.reason ?? '', /advice/);

      const spare = c.spares()[0]!;
      const plan = planOf(report, 'ASSIGN_UNCOVERED_SLOTS', (p) => p.steps.some((s) => s.node === spare.addr));
      const result = await executePlan(options(target, plan.id));
      assertRepaired(result);
      await assertOkEverywhere(c);
      const spareView = parseClusterNodes((await c.client(spare).call('CLUSTER', 'NODES')) as string);
      assert.deepEqual(spareView.find((l) => l.flags.includes('myself'))?.slots, ['0-5460']);
      assert.deepEqual(
        result.steps.map((s) => s.command.slice(0, 2).join(' ')),
        ['CLUSTER MEET', 'CLUSTER ADDSLOTSRANGE', 'CLUSTER BUMPEPOCH'],
      );
    });
  });

  describe('a killed master comes back after its slots were offered to another', () => {
    const cluster = useCluster({ masters: 3 });

    it('refuses the approved plan, naming the precondition that no longer holds', async () => {
      const c = cluster();
      const victim = c.masters()[2]!;
      await c.kill(victim);
      const target = clusterConfigOf(c);
      const approved = planOf(await diagnosisOf(target), 'ASSIGN_UNCOVERED_SLOTS');
      await c.restart(victim);
      await c.waitUntilOk();
      const result = await executePlan(options(target, approved.id, { approved }));
      assert.equal(result.status, 'refused');
      assert.equal(result.code, 'cluster_changed');
      assert.match(
        result.reason ?? '',
        new RegExp(
          `^cluster changed since plan ${approved.id} was made: ${victim.addr} \\(${victim.id.slice(0, 8)}\\) answers again \\(it was down when the plan was made\\)\\. Nothing was run`,
        ),
      );
      assert.deepEqual(result.steps, []);
    });
  });

  describe('two of three masters are killed (3 masters + 3 replicas): quorum lost', () => {
    const cluster = useCluster({ masters: 3, replicasPerMaster: 1 });

    it('runs CLUSTER FAILOVER TAKEOVER on one replica of each dead master', async () => {
      const c = cluster();
      const victims = await c.killMasters(2);
      for (const v of victims) await c.waitUntilFlagged(v, 'fail?');
      const target = clusterConfigOf(c);
      const report = await diagnosisOf(target);
      assert.equal(report.primary, 'QUORUM_LOST');
      const plan = planOf(report, 'PROMOTE_REPLICA');
      assert.deepEqual(
        plan.steps.map((s) => s.command.join(' ')),
        ['CLUSTER FAILOVER TAKEOVER', 'CLUSTER FAILOVER TAKEOVER'],
      );
      const replicas = victims.flatMap((v) => c.replicasOf(v).map((r) => r.addr)).sort();
      assert.deepEqual(plan.steps.map((s) => s.node).sort(), replicas);

      assertRepaired(await executePlan(options(target, plan.id)));
      await assertOkEverywhere(c);
    });
  });

  describe('only slots 0-15999 were ever assigned', () => {
    const cluster = useCluster({ masters: 3, slots: [[0, 15999]] });

    // A cluster that can never be ok is handed over before every node learnt the others' slots.
    before(() =>
      cluster().waitFor((infos) => [...infos.values()].every((t) => t.includes('cluster_slots_assigned:16000')), {
        what: 'every node to see 16000 assigned slots',
      }),
    );

    it('refuses while another repair holds the lock, changing nothing', async () => {
      const c = cluster();
      const target = clusterConfigOf(c);
      const plan = planOf(await diagnosisOf(target), 'ASSIGN_UNCOVERED_SLOTS');
      const key = queueKeys(queue.prefix).repairLock(target.name);
      await queue
        .redis()
        .set(
          key,
          JSON.stringify({ token: 'x', actor: 'U0OTHER', planId: 'assign-000000000000', since: new Date().toISOString() }),
          'PX',
          10_000,
        );
      try {
        const result = await executePlan(options(target, plan.id));
        assert.equal(result.status, 'refused');
        assert.match(result.reason ?? '', new RegExp(`another repair of ${target.name} is running .*U0OTHER`));
        assert.deepEqual(result.steps, []);
      } finally {
        await queue.redis().del(key);
      }
      assert.equal((await c.clusterInfo(c.masters()[0]!))['cluster_slots_assigned'], '16000');
    });

    it("refuses when the bot's own diagnosis fails (its probe thread), saying so and not 'no node answered', changing nothing", async () => {
      const c = cluster();
      const target = clusterConfigOf(c);
      const plan = planOf(await diagnosisOf(target), 'ASSIGN_UNCOVERED_SLOTS');
      const result = await executePlan({
        ...options(target, plan.id),
        diagnose: async () => {
          throw new Error('the diagnosis of the cluster failed twice: the probe thread stopped');
        },
      });
      assert.equal(result.status, 'refused');
      assert.equal(result.code, 'diagnosis_failed');
      assert.match(result.reason ?? '', /cannot re-diagnose .*: the diagnosis of the cluster failed twice: the probe thread stopped/);
      assert.deepEqual(result.steps, []);
      assert.equal((await c.clusterInfo(c.masters()[0]!))['cluster_slots_assigned'], '16000');
    });

    it('refuses a stale plan after the cluster changed, with the new report', async () => {
      const c = cluster();
      const target = clusterConfigOf(c);
      const stale = planOf(await diagnosisOf(target), 'ASSIGN_UNCOVERED_SLOTS');
      await c.delSlotsRange(c.masters()[0]!, 0, 9); // the owner drops slots: another state, another plan
      const result = await executePlan(options(target, stale.id, { approved: stale }));
      assert.equal(result.status, 'refused');
      assert.match(
        result.reason ?? '',
        /^cluster changed since plan assign-\w+ was made: its steps differ now \(now `[\d.:]+> CLUSTER ADDSLOTSRANGE 0 9`/,
      );
      assert.deepEqual(result.steps, []);
      assert.ok(result.finalReport, 'a refusal after re-diagnosis carries the new report');
      assert.ok(!result.finalReport.fixes.some((p) => p.id === stale.id));
      for (const node of c.masters().slice(1))
        assert.equal((await c.clusterInfo(node))['cluster_slots_assigned'], '16000', 'nothing was run');
    });

    it('runs two concurrent repairs of the cluster one after the other, never interleaved', async () => {
      const c = cluster();
      const target = clusterConfigOf(c);
      const plan = planOf(await diagnosisOf(target), 'ASSIGN_UNCOVERED_SLOTS');
      assert.match(plan.title, /back to/, 'the dropped slots go back to their owner');
      const events: Array<{ run: string; seq: number; p: RepairProgress }> = [];
      let seq = 0;
      const audit = createAuditLog(queue.redis(), queue.prefix, silentLogger);
      const start = (run: string): Promise<RepairResult> =>
        executePlan(
          options(target, plan.id, {
            lockWait: { timeoutMs: 30_000 },
            audit,
            actor: `U0${run}`,
            onProgress: (p) => {
              events.push({ run, seq: seq++, p });
            },
          }),
        );
      const results = await Promise.all([start('A'), start('B')]);

      const repaired = results.filter((r) => r.status === 'repaired');
      const refused = results.filter((r) => r.status === 'refused');
      assert.equal(repaired.length, 1, JSON.stringify(results.map((r) => [r.status, r.reason])));
      assert.equal(refused.length, 1);
      assert.match(refused[0]!.reason ?? '', /^cluster changed: /, 'the second one re-diagnosed after the first finished');
      // Everything one run did under the lock comes before everything the other did.
      const underLock = (run: string): number[] => events.filter((e) => e.run === run && e.p.phase !== 'locking').map((e) => e.seq);
      const [a, b] = [underLock('A'), underLock('B')];
      assert.ok(Math.max(...a) < Math.min(...b) || Math.max(...b) < Math.min(...a), `interleaved: A ${a} / B ${b}`);
      await assertOkEverywhere(c);

      const entries = await audit.read({ cluster: target.name });
      const actions = entries.map((e) => e.action);
      assert.ok(
        actions.includes('repair.started') &&
          actions.includes('repair.step') &&
          actions.includes('repair.finished') &&
          actions.includes('repair.refused'),
        actions.join(','),
      );
    });
  });

  describe('an interrupted migration leaves slot 100 open', () => {
    const cluster = useCluster({ masters: 3 });

    it("offers undo or the key move (never a finish the source's key would refuse); a key written through ASK meanwhile makes the undo stale", async () => {
      const c = cluster();
      const source = c.masters().find((m) => m.slots.some(([a, b]) => 100 >= a && 100 <= b))!;
      const dest = c.masters().find((m) => m !== source)!;
      const key = await keyInSlot(c, 100);
      await c.client(source).set(key, 'still here');
      await c.openSlot(100, source, dest);
      const target = clusterConfigOf(c);
      const report = await diagnosisOf(target);
      const closing = report.fixes.filter((p) => p.action === 'CLOSE_OPEN_SLOTS').map((p) => p.title);
      assert.equal(closing.length, 2, closing.join('\n'));
      assert.match(closing[0]!, /^Undo/);
      assert.match(closing[1]!, /move the 1 key left/);

      // A client writes a key the source does not hold: ASK sends it to the importing target.
      const other = await keyInSlot(c, 100, key);
      await c.client(dest).call('RESTORE-ASKING', other, '0', (await c.client(source).dumpBuffer(key))!);
      const undo = planOf(report, 'CLOSE_OPEN_SLOTS', (p) => /Undo/.test(p.title));
      const refused = await executePlan(options(target, undo.id));
      assert.equal(refused.status, 'refused');
      assert.match(refused.reason ?? '', /^cluster changed: /, 'the state the undo was made for is gone: it is not offered any more');
      assert.deepEqual(refused.steps, []);

      const move = planOf(refused.finalReport!, 'CLOSE_OPEN_SLOTS', (p) => /move the 1 key left/.test(p.title));
      assertRepaired(await executePlan(options(target, move.id)));
      for (const node of c.masters()) {
        const me = (await c.clusterNodes(node)).find((l) => l.flags.includes('myself'))!;
        assert.ok(!me.slots.some((s) => s.startsWith('[')), `${node.addr} still has an open slot: ${me.raw}`);
      }
      assert.equal(await c.client(dest).get(key), 'still here');
      assert.equal(await c.client(dest).get(other), 'still here');
      await assertOkEverywhere(c);
    });
  });

  describe('a dead slot-less node (ghost) lingers in the tables', () => {
    const cluster = useCluster({ masters: 3 });

    it('is forgotten on every live node, and gossip does not bring it back', async function () {
      const long = process.env.REDIS_MEDIC_LONG_TESTS === '1';
      this.timeout(long ? 120_000 : 60_000);
      const c = cluster();
      const ghost = await c.makeGhost();
      const target = clusterConfigOf(c);
      const plan = planOf(await diagnosisOf(target), 'FORGET_GHOST_NODES');
      assert.equal(plan.steps.length, c.masters().length);
      assertRepaired(await executePlan(options(target, plan.id)));

      // Why this is enough without waiting a minute: Redis bans a forgotten id for 60 s, and only
      // a node that still knows the ghost can gossip it back once the ban expires. So the risk is
      // a node that was not told; the check is that *no* live node lists it once gossip has run
      // several rounds (node-timeout 1000 ms: every pair pings within ~0.5 s). With
      // REDIS_MEDIC_LONG_TESTS=1 the window covers the whole ban (65 s) as well.
      const windowMs = long ? 65_000 : 4_000;
      const until = Date.now() + windowMs;
      let rounds = 0;
      await eventually(
        async () => {
          for (const node of c.nodes.filter((n) => n.alive)) {
            const listed = (await c.clusterNodes(node)).some((l) => l.id === ghost.id);
            assert.equal(listed, false, `${node.addr} lists the ghost again after ${rounds} rounds`);
          }
          rounds++;
          return Date.now() >= until;
        },
        { timeoutMs: windowMs + 10_000, what: 'the observation window to pass' },
      );
      await assertOkEverywhere(c);
    });
  });
});

/** A key that hashes to `slot` (asked from the cluster itself, not computed here). */
async function keyInSlot(c: TestCluster, slot: number, not?: string): Promise<string> {
  const client = c.client(c.masters()[0]!);
  for (let i = 0; i < 100_000; i++) {
    const key = `k${i}`;
    if (key !== not && Number(await client.call('CLUSTER', 'KEYSLOT', key)) === slot) return key;
  }
  throw new Error(`no key found for slot ${slot}`);
}
