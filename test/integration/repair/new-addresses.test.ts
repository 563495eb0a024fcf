// Nodes restarted at new addresses with nodes.conf keeping the old ones (issue 17 §3), on a real
// cluster: every master restarts on another loopback address (all of 127.0.0.0/8 is local), as
// Kubernetes pods do on new IPs. Every node then looks down to the others at once; the data is
// fine. The report must say so and offer CLUSTER MEET at the new addresses before anything
// that loses keys; running it brings the cluster back with every key.
import assert from 'node:assert/strict';
import { parsePaste } from '../../../src/cluster/parse-paste';
import { analyseSnapshot } from '../../../src/engine';
import { executePlan } from '../../../src/repair/executor';
import { useCluster, type TestNode } from '../../helpers/cluster';
import { hashTagOf } from '../../helpers/slot-keys';
import { assertOkEverywhere, clusterConfigOf, config, diagnosisOf, useQueueRedis } from './support';

describe('repair: every master restarted at a new address (real cluster)', function () {
  this.timeout(60_000);
  const queue = useQueueRedis();
  const cluster = useCluster({ masters: 3, persistence: 'aof' });
  const keys: string[] = [];
  let old: Map<TestNode, string>;

  before(async function () {
    this.timeout(60_000);
    const c = cluster();
    for (const master of c.masters()) {
      const tag = await hashTagOf(c.client(master), master.slots[0]![0]);
      keys.push(`{${tag}}:k`);
      await c.client(master).call('SET', `{${tag}}:k`, `on ${master.id}`);
    }
    old = new Map(c.masters().map((m) => [m, m.addr]));
    await Promise.all(c.masters().map((m) => c.kill(m)));
    await Promise.all(c.masters().map((m, i) => c.restart(m, { host: `127.0.0.${i + 2}` })));
    // Each node calls its peers at the old addresses, where nothing answers: all flagged fail?.
    await c.waitForNodes(
      (views) =>
        [...views.values()].every((lines) => lines.filter((l) => l.flags.includes('fail?') || l.flags.includes('fail')).length === 2),
      { what: 'every node to flag the two others' },
    );
  });

  it('says the addresses changed, offers MEET at the new addresses first, and warns every plan that loses keys', async () => {
    const c = cluster();
    const report = await diagnosisOf(clusterConfigOf(c));
    assert.equal(report.primary, 'ADDRESSES_CHANGED', report.findings.map((f) => f.code).join());
    assert.equal(report.verdict, 'down');
    for (const m of c.masters()) {
      const node = report.nodes.find((n) => n.id === m.id)!;
      assert.equal(node.addr, m.addr, 'the node is reported where it answers now');
      assert.equal(node.announcedAddr, old.get(m));
    }
    const [first] = report.fixes;
    assert.equal(first?.action, 'MEET_NODES', report.fixes.map((p) => p.title).join('\n'));
    assert.equal(first.risk, 'low');
    assert.deepEqual(first.dataLoss.slots, []);
    const [a, b, d] = [...c.masters()].sort((x, y) => x.addr.localeCompare(y.addr));
    assert.deepEqual(
      first.steps.map((s) => `${s.node}> ${s.command.join(' ')}`),
      [
        `${a!.addr}> CLUSTER MEET ${b!.host} ${b!.port} ${b!.busPort}`,
        `${a!.addr}> CLUSTER MEET ${d!.host} ${d!.port} ${d!.busPort}`,
        `${b!.addr}> CLUSTER MEET ${a!.host} ${a!.port} ${a!.busPort}`,
      ],
    );
    for (const plan of report.fixes.filter((p) => p.dataLoss.slots.length > 0)) {
      assert.match(plan.preconditions.join('\n'), /not merely at new addresses/, plan.title);
    }
  });

  it('a paste of one restarted node (CLUSTER NODES and INFO) says addresses may have changed', async () => {
    const c = cluster();
    const node = c.masters()[0]!;
    const [nodes, info] = (await Promise.all([c.client(node).call('CLUSTER', 'NODES'), c.client(node).call('CLUSTER', 'INFO')])) as [
      string,
      string,
    ];
    assert.match(info, /cluster_stats_messages_received:0/);
    const { report } = analyseSnapshot(parsePaste(`${node.addr}> cluster nodes\n${nodes}\n${node.addr}> cluster info\n${info}`));
    assert.equal(report.primary, 'ADDRESSES_CHANGED', report.findings.map((f) => f.code).join());
    assert.match(report.findings[0]!.detail, /addresses changed/);
  });

  it('the MEET plan brings every node back, with every key', async () => {
    const c = cluster();
    const target = clusterConfigOf(c);
    const plan = (await diagnosisOf(target)).fixes[0]!;
    const result = await executePlan({
      cluster: target,
      config,
      planId: plan.id,
      lockRedis: queue.redis(),
      lockPrefix: queue.prefix,
      actor: 'U0TEST',
    });
    assert.equal(result.status, 'repaired', `${result.reason ?? ''}\n${result.verification ?? ''}`);
    await assertOkEverywhere(c);
    for (const [i, m] of c.masters().entries()) assert.equal(await c.client(m).call('GET', keys[i]!), `on ${m.id}`);
  });
});
