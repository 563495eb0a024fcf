// Review of issue 11 (engineer R): a node inside the scope lists a cluster bus port no TCP port
// can be (70000, -1). The bus-port check passed it to net.connect, which throws: for a listed
// node the rejected check was never awaited, so the process got an unhandled rejection (Node
// ends the process: the Slack acks and the workers with it); for the node's own line the whole
// diagnosis rejected. A real redis-server refuses such a port, so a fake node says it.
import assert from 'node:assert/strict';
import { diagnoseCluster } from '../../../src/engine';
import { freePort } from '../../helpers/cluster';
import { nodeId, startFakeNode, type FakeNode } from '../../helpers/fake-node';

async function unhandledDuring<T>(run: () => Promise<T>): Promise<{ result: T; unhandled: unknown[] }> {
  const unhandled: unknown[] = [];
  const listener = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', listener);
  try {
    const result = await run();
    // Rejections are reported after the microtask queue drains.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    return { result, unhandled };
  } finally {
    process.off('unhandledRejection', listener);
  }
}

describe('collection: bus ports out of range in a listing', function () {
  this.timeout(20000);
  const started: FakeNode[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((n) => n.close()));
  });

  const seedListing = async (lines: (port: number) => string[]): Promise<FakeNode> => {
    const port = await freePort();
    const node = await startFakeNode({ port, clusterNodes: `${lines(port).join('\n')}\n` });
    started.push(node);
    return node;
  };

  for (const bus of ['70000', '-1']) {
    it(`another node listed at bus port ${bus}: no unhandled rejection, the diagnosis ends`, async () => {
      const seed = await seedListing((port) => [
        `${nodeId(1)} 127.0.0.1:${port}@${port + 1} myself,master - 0 0 1 connected 0-16383`,
        `${nodeId(2)} 127.0.0.1:1@${bus} master - 0 0 1 connected`,
      ]);
      const { result, unhandled } = await unhandledDuring(() =>
        diagnoseCluster(
          { name: 'bus-range', seeds: [seed.addr], tls: false, spareNodes: [] },
          { timeouts: { connectMs: 300, commandMs: 1000 } },
        ),
      );
      assert.deepEqual(unhandled.map(String), []);
      assert.equal(result.snapshot.probes.find((p) => p.addr === seed.addr)?.status, 'ok');
    });
  }

  it("a node's own line at bus port 70000: the diagnosis still ends with a report", async () => {
    const seed = await seedListing((port) => [`${nodeId(1)} 127.0.0.1:${port}@70000 myself,master - 0 0 1 connected 0-16383`]);
    const { result, unhandled } = await unhandledDuring(() =>
      diagnoseCluster(
        { name: 'bus-range-own', seeds: [seed.addr], tls: false, spareNodes: [] },
        { timeouts: { connectMs: 300, commandMs: 1000 } },
      ),
    );
    assert.deepEqual(unhandled.map(String), []);
    const probe = result.snapshot.probes.find((p) => p.addr === seed.addr);
    assert.equal(probe?.status, 'ok');
    assert.equal(probe?.busPort, undefined, 'no bus check on a port that cannot exist');
  });
});
