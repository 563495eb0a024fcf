// Issue 11 §1 with fake nodes, where a real redis-server cannot misbehave that way: a node that
// lists 800 addresses, answers with 5 MB, or with thousands of lines. Collection must stay in
// the scope (no connection, no AUTH) and within its caps, and the report must say so.
import assert from 'node:assert/strict';
import { collectSnapshot } from '../../../src/cluster/collect-snapshot';
import { clusterScope } from '../../../src/cluster/scope';
import { diagnoseCluster } from '../../../src/engine';
import { NodeLinks } from '../../../src/repair/node-links';
import { verifyPlan } from '../../../src/repair/verify';
import { freePort } from '../../helpers/cluster';
import { nodeId, nodeLine, startFakeNode, type FakeNode } from '../../helpers/fake-node';

const TIMEOUTS = { connectMs: 300, commandMs: 1000 };
const PASSWORD = 'cluster-password-not-for-strangers';

describe('collection: a fake node cannot widen the scope nor exhaust the bot', function () {
  this.timeout(20000);
  const started: FakeNode[] = [];
  const fake = async (...args: Parameters<typeof startFakeNode>): Promise<FakeNode> => {
    const node = await startFakeNode(...args);
    started.push(node);
    return node;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((n) => n.close()));
  });

  it('a node listing 800 addresses outside the scope: none is connected to, none gets AUTH, the report quotes them', async () => {
    // The trap is a listener on one of the listed addresses (another loopback address, outside
    // the default scope of a 127.0.0.1 seed); the 799 others are nowhere.
    const trap = await fake({ host: '127.0.0.5' });
    const busTrap = await fake({ host: '127.0.0.5' });
    const listed = Array.from({ length: 799 }, (_, i) => nodeLine(nodeId(i + 2), `10.255.${i >> 8}.${i & 255}:6379`, 'master'));
    // Its cluster bus port is a trap too: the bus-port check must not go there either.
    listed.splice(400, 0, `${nodeId(9999)} ${trap.addr}@${busTrap.port} master - 0 0 1 connected`);
    const seed = await fake({ clusterNodes: [nodeLine(nodeId(1), '127.0.0.1:1', 'myself,master', '0-16383'), ...listed].join('\n') });
    // A generous connect timeout: before the fix, the trap did get the AUTH within it.
    const { report, snapshot } = await diagnoseCluster(
      { name: 'fake', seeds: [seed.addr], password: PASSWORD, tls: false, spareNodes: [] },
      { timeouts: { connectMs: 1000, commandMs: 1000 } },
    );

    assert.equal(trap.connections, 0, `the trap at ${trap.addr} was connected to, and sent: ${JSON.stringify(trap.commands)}`);
    assert.equal(busTrap.connections, 0, `the listed bus port ${busTrap.addr} was connected to`);
    assert.equal(snapshot.probes.length, 1, 'only the seed was asked');
    const finding = report.findings.find((f) => f.code === 'NODE_OUT_OF_SCOPE');
    assert.ok(finding, report.findings.map((f) => f.code).join());
    assert.match(finding.title, /^800 listed addresses outside the allowed networks/);
    assert.ok(finding.evidence.includes(`[${seed.addr}] ${listed[0]}`), finding.evidence.slice(0, 3).join('\n'));
    assert.match(finding.evidence.at(-1)!, /and 790 more addresses/);
    assert.equal(snapshot.outOfScope!.find((o) => o.addr === trap.addr)!.line, listed[400]);
    // The seed itself, in scope, got the password: that is what it is for.
    assert.deepEqual(
      seed.commands.find((c) => c[0] === 'AUTH'),
      ['AUTH', PASSWORD],
    );
  });

  it('maxNodes: listed addresses past the cap are not asked, and the report says how many', async () => {
    const ports = await Promise.all(Array.from({ length: 12 }, () => freePort()));
    const seed = await fake({
      clusterNodes: [
        nodeLine(nodeId(1), '127.0.0.1:1', 'myself,master', '0-16383'),
        ...ports.map((p, i) => nodeLine(nodeId(i + 2), `127.0.0.1:${p}`, 'master')),
      ].join('\n'),
    });
    const snapshot = await collectSnapshot({ seeds: [seed.addr], limits: { maxNodes: 5 }, connectTimeoutMs: 300, commandTimeoutMs: 500 });
    assert.equal(snapshot.probes.length, 5);
    const hit = snapshot.capsHit?.find((h) => h.cap === 'maxNodes');
    assert.ok(hit, JSON.stringify(snapshot.capsHit));
    assert.match(hit.detail, /^8 listed addresses were not asked: 5 nodes is the most one diagnosis asks \(collection\.maxNodes\)/);
    const { report } = await diagnoseCluster(
      { name: 'fake', seeds: [seed.addr], tls: false, spareNodes: [] },
      { timeouts: TIMEOUTS, collection: { maxNodes: 5, maxReplyBytes: 1 << 20, maxClusterNodesLines: 5000 } },
    );
    assert.match(report.findings.find((f) => f.code === 'READ_CAP_HIT')!.title, /not every listed node asked/);
  });

  it('maxReplyBytes: a node streaming 5 MB of CLUSTER NODES is cut off near the cap, and its answer dropped', async () => {
    const huge = await fake({ clusterNodes: { streamBytes: 5 * 1024 * 1024 } });
    const seed = await fake({
      clusterNodes: [nodeLine(nodeId(1), '127.0.0.1:1', 'myself,master', '0-16383'), nodeLine(nodeId(2), huge.addr, 'master')].join('\n'),
    });
    const { report, snapshot } = await diagnoseCluster(
      { name: 'fake', seeds: [seed.addr], tls: false, spareNodes: [] },
      { timeouts: TIMEOUTS, collection: { maxReplyBytes: 256 * 1024, maxClusterNodesLines: 5000, maxNodes: 100 } },
    );
    const probe = snapshot.probes.find((p) => p.addr === huge.addr)!;
    assert.equal(probe.status, 'discarded', JSON.stringify({ ...probe, replies: undefined }));
    assert.equal(probe.failure, 'reply-too-large');
    assert.equal(probe.replies, undefined);
    assert.match(probe.error!, /answered more than 262,144 bytes \(collection\.maxReplyBytes; stopped reading at [\d,]+\)/);
    // Reading stopped: the fake could write little more than the cap plus what the socket buffers held.
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(huge.bytesStreamed < 5 * 1024 * 1024, `the fake wrote all ${huge.bytesStreamed} bytes: nobody hung up`);
    const finding = report.findings.find((f) => f.code === 'READ_CAP_HIT');
    assert.ok(finding, report.findings.map((f) => f.code).join());
    assert.deepEqual(finding.nodes, [nodeId(2)]);
    assert.equal(report.nodes.find((n) => n.id === nodeId(2))!.reachable, null, 'a dropped answer is unknown, not down');
  });

  it("a repair's verification round holds the same cap: a node streaming 50 MB of CLUSTER NODES is cut off near it, and counts as not done", async () => {
    const huge = await fake({ clusterNodes: { streamBytes: 50 * 1024 * 1024 } });
    const links = new NodeLinks({}, TIMEOUTS.connectMs, clusterScope({ seeds: [huge.addr] }), 256 * 1024);
    try {
      const outcome = await verifyPlan({ clusterOk: true, meshed: true }, [{ addr: huge.addr, id: nodeId(2) }], {
        links,
        timeoutMs: 0,
        commandTimeoutMs: 5000,
      });
      assert.equal(outcome.ok, false);
      assert.match(outcome.observed, /no answer: answered more than 262,144 bytes \(collection\.maxReplyBytes\); not read further/);
    } finally {
      links.close();
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(huge.bytesStreamed < 5 * 1024 * 1024, `the fake wrote ${huge.bytesStreamed} bytes: nobody hung up`);
  });

  it('maxClusterNodesLines: a reply with more lines than the cap is dropped whole, never half-read', async () => {
    const lines = Array.from({ length: 1500 }, (_, i) => nodeLine(nodeId(i + 2), `127.0.0.1:${1 + (i % 60000)}`, 'master,fail', '', 0));
    const seed = await fake({ clusterNodes: [nodeLine(nodeId(1), '127.0.0.1:1', 'myself,master', '0-16383'), ...lines].join('\n') });
    const snapshot = await collectSnapshot({ seeds: [seed.addr], limits: { maxClusterNodesLines: 1000 } });
    assert.equal(snapshot.probes.length, 1, 'nothing it listed was followed');
    assert.equal(snapshot.probes[0]!.status, 'discarded');
    assert.equal(snapshot.probes[0]!.failure, 'too-many-lines');
    assert.match(snapshot.probes[0]!.error!, /1,501 lines, over the cap of 1,000 \(collection\.maxClusterNodesLines\)/);
    assert.equal(snapshot.capsHit![0]!.cap, 'maxClusterNodesLines');
  });
});
