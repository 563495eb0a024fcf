// A verification round over many nodes that do not answer ends with the verification's time
// (issue 15's review): a round asks 128 nodes at once, so without a cutoff 300 silent nodes held it
// for three command timeouts, whatever the time allowed. Fake nodes (RESP servers that never
// answer), where real ones would have to be frozen by the hundred.
import assert from 'node:assert/strict';
import { clusterScope } from '../../../src/cluster/scope';
import { NodeLinks } from '../../../src/repair/node-links';
import { verifyPlan } from '../../../src/repair/verify';
import { startFakeNode, type FakeNode } from '../../helpers/fake-node';

describe('verification: a round ends with the time allowed', function () {
  this.timeout(30_000);
  let nodes: FakeNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    nodes = [];
  });

  it('300 silent nodes: only those asked before the time ran out are asked, the others are reported as not asked', async () => {
    nodes = await Promise.all(Array.from({ length: 300 }, () => startFakeNode({ replyDelayMs: 60_000 })));
    const links = new NodeLinks({}, 300, clusterScope({ seeds: [nodes[0]!.addr] }));
    try {
      const outcome = await verifyPlan(
        { clusterOk: true },
        nodes.map((n) => ({ addr: n.addr })),
        { links, timeoutMs: 50, commandTimeoutMs: 300 },
      );
      assert.equal(outcome.ok, false);
      const asked = nodes.filter((n) => n.commands.some(([name, sub]) => name === 'CLUSTER' && sub === 'INFO')).length;
      assert.equal(asked, 128, `${asked} asked: every node was asked, one wave of 128 after the other, past the time allowed`);
      assert.match(outcome.observed, /not asked: the verification time ran out before its turn/);
      assert.match(outcome.observed, /no reply .* within 300 ms/);
    } finally {
      links.close();
    }
  });
});
