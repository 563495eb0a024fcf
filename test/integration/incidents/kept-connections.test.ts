// The monitor keeps each cluster's node connections open between its light probes (issue 15: a
// poll of a 1000-node cluster opened and closed a thousand connections, a third of its CPU). On a
// real cluster, run where the probe thread runs them (probe-tasks): a second poll dials no node, a
// full diagnosis still dials every node afresh, and what a poll reports of a node killed, frozen
// or restarted between polls is what a fresh connection finds.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import type { TestNode } from '../../../src/devtools/local-cluster';
import { closeConnectionPools, type LightProbeRequest, runDiagnosis, runLightProbe } from '../../../src/incidents/probe-tasks';
import { useHarness } from '../../helpers/harness';
import { countConnectsFromThisThread } from '../../helpers/thread-connects';
import { testConfig } from './harness';

describe('monitor polls keep their node connections', function () {
  this.timeout(60_000);
  const h = useHarness({ cluster: { masters: 3, nodeTimeoutMs: 1000 }, healCluster: true, fakeSlack: true });

  afterEach(() => {
    sinon.restore();
    closeConnectionPools();
  });

  function request(commandMs?: number): LightProbeRequest {
    const c = h.cluster();
    const config = testConfig(h.prefix, c.seeds, h.fake);
    if (commandMs !== undefined) config.timeouts = { ...config.timeouts, commandMs };
    return { cluster: config.clusters[0]!, config, seeds: c.seeds, at: Date.now() };
  }

  const answered = (result: Awaited<ReturnType<typeof runLightProbe>>, node: TestNode): boolean =>
    result.snapshot.probes.some((p) => p.addr === node.addr && p.status === 'ok');

  it('the second light poll dials no node; a deep check dials every node afresh, and the next poll uses those connections', async () => {
    const c = h.cluster();
    const connects = countConnectsFromThisThread(c.nodes.map((n) => n.port));
    const first = await runLightProbe(request());
    assert.equal(first.assessment.off, false, first.assessment.reasons.join('; '));
    assert.equal(connects(), c.nodes.length);
    const second = await runLightProbe(request());
    assert.equal(second.assessment.off, false, second.assessment.reasons.join('; '));
    assert.equal(second.states.length, c.nodes.length);
    assert.equal(connects(), c.nodes.length, 'the second poll opened new connections');
    // Causes, plans and evidence come from new connections (src/cluster/connection-pool.ts says why).
    const { report } = await runDiagnosis(request(), async () => new Map());
    assert.equal(report.verdict, 'ok');
    assert.equal(connects(), 2 * c.nodes.length, 'the deep check used kept connections');
    assert.equal((await runLightProbe(request())).assessment.off, false);
    assert.equal(connects(), 2 * c.nodes.length, "the poll after the deep check did not use the deep check's connections");
  });

  it('other connection settings (here the command timeout) get new connections', async () => {
    const c = h.cluster();
    const connects = countConnectsFromThisThread(c.nodes.map((n) => n.port));
    await runLightProbe(request(1000));
    await runLightProbe(request(900));
    assert.equal(connects(), 2 * c.nodes.length);
  });

  it('a node killed between polls is reported as not answering, and asked afresh once it is back', async () => {
    const c = h.cluster();
    const victim = c.masters()[1]!;
    assert.ok(answered(await runLightProbe(request()), victim));
    await c.kill(victim);
    const down = await runLightProbe(request());
    assert.equal(answered(down, victim), false, 'a kept connection to a killed node answered');
    assert.equal(down.assessment.off, true);
    assert.match(down.snapshot.probes.find((p) => p.addr === victim.addr)!.error!, /refused/i);
    await c.restart(victim);
    await c.waitUntilOk({ timeoutMs: 20_000 });
    const back = await runLightProbe(request());
    assert.ok(answered(back, victim), JSON.stringify(back.snapshot.probes.find((p) => p.addr === victim.addr)));
  });

  it('a node frozen between polls: its kept connection times out like a new one, and it answers again once thawed', async () => {
    const c = h.cluster();
    const victim = c.masters()[2]!;
    assert.ok(answered(await runLightProbe(request(300)), victim));
    c.freeze(victim);
    try {
      const frozen = await runLightProbe(request(300));
      assert.equal(answered(frozen, victim), false, 'a frozen node answered');
      assert.match(frozen.snapshot.probes.find((p) => p.addr === victim.addr)!.error!, /300 ms|no answer within/);
    } finally {
      c.thaw(victim);
    }
    assert.ok(answered(await runLightProbe(request(300)), victim), 'the thawed node did not answer');
  });
});
