// Kept node connections (src/cluster/connection-pool.ts) against fake nodes that misbehave in ways
// a real redis-server does not: replies nobody asked for, sent while a connection is kept or after
// it was hung up. A kept connection must never carry such a state into the next probe, and a
// connection being closed must never turn a node's stray bytes into an uncaught error.
import assert from 'node:assert/strict';
import { collectSnapshot } from '../../../src/cluster/collect-snapshot';
import { ConnectionPool } from '../../../src/cluster/connection-pool';
import { nodeId, nodeLine, startFakeNode, type FakeNode, type FakeNodeOptions } from '../../helpers/fake-node';

const ME = nodeLine(nodeId(1), '127.0.0.1:1', 'myself,master', '0-16383');

describe('kept node connections', function () {
  this.timeout(20_000);
  const started: FakeNode[] = [];
  const pools: ConnectionPool[] = [];
  const fake = async (options: FakeNodeOptions = {}): Promise<FakeNode> => {
    const node = await startFakeNode({ clusterNodes: ME, ...options });
    started.push(node);
    return node;
  };
  const pool = (maxAgeMs?: number): ConnectionPool => {
    const made = new ConnectionPool(maxAgeMs);
    pools.push(made);
    return made;
  };
  afterEach(async () => {
    for (const p of pools.splice(0)) p.close();
    await Promise.all(started.splice(0).map((n) => n.close()));
  });

  const lightProbe = (node: FakeNode, connections: ConnectionPool, commandTimeoutMs = 1000) =>
    collectSnapshot({
      seeds: [node.addr],
      commands: 'light',
      discover: false,
      probeBusPort: false,
      connections,
      connectTimeoutMs: 300,
      commandTimeoutMs,
    }).then((snapshot) => snapshot.probes[0]!);

  // A whole reply (an 'error' from ioredis: no command waits for it), and the start of one (no
  // error until it is whole: only the bytes counted while the connection was kept tell).
  for (const [what, strayReply] of [
    ['a reply', '+STRAY\r\n'],
    ['part of a reply', '$1000000\r\nnot all of it'],
  ] as const) {
    it(`${what} nobody asked for, sent while the connection was kept: the next probe dials afresh, and answers`, async () => {
      const node = await fake({ strayReplyAfterMs: 100, strayReply });
      const connections = pool();
      assert.equal((await lightProbe(node, connections)).status, 'ok');
      await new Promise((resolve) => setTimeout(resolve, 250));
      const second = await lightProbe(node, connections);
      assert.equal(second.status, 'ok', second.error);
      assert.equal(node.connections, 2, 'the connection was used again');
    });
  }

  it("a failed probe's connection is hung up with its error listener on: a late reply from a half-open node is no uncaught error", async () => {
    // The node refuses CLUSTER NODES (the probe fails and hangs up), keeps its side open, and then
    // sends one more reply, for which no command waits.
    const node = await fake({ clusterNodesError: 'ERR not today', strayReplyAfterMs: 50, halfOpen: true });
    const probe = await lightProbe(node, pool());
    assert.equal(probe.status, 'unreachable');
    // The stray reply lands while the connection is half closed (mocha fails on an uncaught error).
    await new Promise((resolve) => setTimeout(resolve, 300));
  });

  it('a node gone just before the probe (its FIN not read yet): asked again on a new connection, it says what a new one says', async () => {
    const node = await fake();
    const connections = pool();
    assert.equal((await lightProbe(node, connections)).status, 'ok');
    // The node hangs up and stops listening; the probe starts in the same turn, before our side
    // of the kept connection has read the hang-up.
    const closing = node.close();
    const probe = await lightProbe(node, connections);
    await closing;
    assert.equal(probe.status, 'unreachable');
    assert.equal(probe.failure, 'refused', probe.error);
  });

  it('a pool closed while a probe was out keeps nothing given back to it', async () => {
    const node = await fake();
    const connections = pool();
    connections.close();
    assert.equal((await lightProbe(node, connections)).status, 'ok');
    assert.equal(connections.take(node.addr), undefined);
  });

  it('a connection is reused only until its age limit, then dialled again', async () => {
    const node = await fake();
    const connections = pool(150);
    await lightProbe(node, connections);
    await lightProbe(node, connections);
    assert.equal(node.connections, 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await lightProbe(node, connections)).status, 'ok');
    assert.equal(node.connections, 2);
  });
});
