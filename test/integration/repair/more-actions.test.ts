// The other plan kinds, on real clusters too: FAILOVER FORCE, ADD_REPLICA, MEET_NODES and the
// partial-coverage escape hatch. One cluster carries three of them in sequence to stay fast.
import assert from 'node:assert/strict';
import { executePlan, type ExecuteOptions } from '../../../src/repair/executor';
import type { RepairResult } from '../../../src/repair/types';
import { parseInfo, useCluster } from '../../helpers/cluster';
import { assertOkEverywhere, clusterConfigOf, config, diagnosisOf, planOf, useQueueRedis } from './support';

describe('repair: the other actions on real clusters', function () {
  this.timeout(60_000);
  const queue = useQueueRedis();

  function run(cluster: ReturnType<typeof clusterConfigOf>, planId: string): Promise<RepairResult> {
    const options: ExecuteOptions = { cluster, config, planId, lockRedis: queue.redis(), lockPrefix: queue.prefix, actor: 'U0TEST' };
    return executePlan(options);
  }
  function assertRepaired(result: RepairResult): void {
    assert.equal(
      result.status,
      'repaired',
      `${result.reason ?? ''}\n${result.verification ?? ''}\n${JSON.stringify(result.steps, null, 2)}`,
    );
  }

  describe('a dead master whose replica will not fail over by itself (majority alive)', () => {
    const cluster = useCluster({ masters: 3, replicasPerMaster: 1 });

    it('is replaced with CLUSTER FAILOVER FORCE', async () => {
      const c = cluster();
      const [m0] = c.masters();
      const [r0] = c.replicasOf(m0!);
      await c.client(r0!).call('CONFIG', 'SET', 'cluster-replica-no-failover', 'yes');
      await c.kill(m0!);
      await c.waitUntilFlagged(m0!, 'fail');
      const target = clusterConfigOf(c);
      const plan = planOf(await diagnosisOf(target), 'PROMOTE_REPLICA');
      assert.deepEqual(
        plan.steps.map((s) => `${s.node}> ${s.command.join(' ')}`),
        [`${r0!.addr}> CLUSTER FAILOVER FORCE`],
      );
      assertRepaired(await run(target, plan.id));
      await assertOkEverywhere(c);
    });
  });

  describe('3 masters without replicas and one spare', () => {
    const cluster = useCluster({ masters: 3, spares: 1 });

    it('ADD_REPLICA: the spare meets the master and replicates it (link up)', async () => {
      const c = cluster();
      const target = clusterConfigOf(c);
      const plan = planOf(await diagnosisOf(target), 'ADD_REPLICA');
      assertRepaired(await run(target, plan.id));
      const spare = c.spares()[0]!;
      const info = parseInfo((await c.client(spare).call('INFO', 'replication')) as string);
      assert.equal(info['role'], 'slave');
      assert.equal(info['master_link_status'], 'up');
      await assertOkEverywhere(c);
    });

    it('MEET_NODES: two masters that forgot each other know each other again', async () => {
      const c = cluster();
      const [m0, , m2] = c.masters();
      await c.client(m0!).call('CLUSTER', 'FORGET', m2!.id);
      await c.client(m2!).call('CLUSTER', 'FORGET', m0!.id);
      const target = clusterConfigOf(c);
      const plan = planOf(await diagnosisOf(target), 'MEET_NODES');
      assertRepaired(await run(target, plan.id));
      assert.ok((await c.clusterNodes(m0!)).some((l) => l.id === m2!.id && !l.flags.includes('handshake')));
      await assertOkEverywhere(c);
    });

    it('ALLOW_PARTIAL_COVERAGE: with a master dead, the covered slots are served again', async () => {
      const c = cluster();
      const spare = c.spares()[0]!;
      const replicated = (await c.clusterNodes(spare)).find((l) => l.flags.includes('myself'))!.masterId;
      const victim = c.masters().find((m) => m.id !== replicated)!;
      await c.kill(victim);
      await c.waitUntilFlagged(victim, 'fail');
      const target = clusterConfigOf(c);
      const plan = planOf(await diagnosisOf(target), 'ALLOW_PARTIAL_COVERAGE');
      assert.equal(plan.risk, 'high');
      assertRepaired(await run(target, plan.id));
      await c.waitUntilOk({ what: 'the live nodes to serve the covered slots' });
      for (const node of c.nodes.filter((n) => n.alive)) {
        assert.deepEqual(await c.client(node).call('CONFIG', 'GET', 'cluster-require-full-coverage'), [
          'cluster-require-full-coverage',
          'no',
        ]);
      }
    });
  });
});
