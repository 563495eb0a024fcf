// A probe asks for the configuration a diagnosis reads in one CONFIG GET (Redis >= 7 takes
// several parameters); a node that refuses that (Redis < 7 takes one: an arity error) is asked
// one parameter at a time on the same connection. Either way the probe reads the same values, in
// the same key order (snapshots are saved and compared).
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { probeNode } from '../../../src/cluster/collect-snapshot';
import { useCluster } from '../../helpers/cluster';
import { nodeId, nodeLine, startFakeNode, type FakeNode } from '../../helpers/fake-node';

const PARAMETERS = [
  'cluster-require-full-coverage',
  'cluster-node-timeout',
  'cluster-replica-validity-factor',
  'repl-ping-replica-period',
  'repl-diskless-sync',
  'repl-diskless-sync-delay',
  'repl-timeout',
];
const OPTIONS = { connectTimeoutMs: 500, commandTimeoutMs: 1000, probeBusPort: false };

describe('CONFIG GET: one command for all parameters, one per parameter where a node takes one', function () {
  this.timeout(30_000);

  describe('fake nodes', () => {
    const started: FakeNode[] = [];
    afterEach(async () => {
      await Promise.all(started.splice(0).map((n) => n.close()));
    });
    // Answered in an order of the node's own, and one parameter it does not know.
    const config = {
      'repl-timeout': '60',
      'cluster-node-timeout': '15000',
      'cluster-require-full-coverage': 'no',
      'repl-diskless-sync': 'yes',
      'repl-diskless-sync-delay': '5',
      'repl-ping-replica-period': '10',
    };
    const expected = {
      'cluster-require-full-coverage': 'no',
      'cluster-node-timeout': '15000',
      'repl-ping-replica-period': '10',
      'repl-diskless-sync': 'yes',
      'repl-diskless-sync-delay': '5',
      'repl-timeout': '60',
    };
    const fake = async (configGetOneParameter: boolean, replyDelayMs = 0): Promise<FakeNode> => {
      const node = await startFakeNode({
        clusterNodes: nodeLine(nodeId(1), '127.0.0.1:1', 'myself,master', '0-16383'),
        config,
        configGetOneParameter,
        replyDelayMs,
      });
      started.push(node);
      return node;
    };
    const configGets = (node: FakeNode): string[][] => node.commands.filter((c) => c[0] === 'CONFIG');

    it('a probe opens with its own commands: no CLIENT SETINFO round trip before them', async () => {
      const node = await fake(false);
      const probe = await probeNode(node.addr, OPTIONS);
      assert.equal(probe.status, 'ok', probe.error);
      assert.deepEqual(
        node.commands.map((c) => c.slice(0, 2).join(' ')),
        ['CLUSTER NODES', 'CLUSTER INFO', 'CONFIG GET', 'INFO replication', 'DBSIZE', 'TIME'],
      );
    });

    it('a node that takes several parameters is asked once', async () => {
      const node = await fake(false);
      const probe = await probeNode(node.addr, OPTIONS);
      assert.equal(probe.status, 'ok', probe.error);
      assert.deepEqual(configGets(node), [['CONFIG', 'GET', ...PARAMETERS]]);
      assert.deepEqual(Object.entries(probe.replies!.config!), Object.entries(expected));
    });

    it('a node that takes one parameter (arity error) is asked again one by one: the same values, in the same order', async () => {
      const node = await fake(true);
      const probe = await probeNode(node.addr, OPTIONS);
      assert.equal(probe.status, 'ok', probe.error);
      assert.deepEqual(configGets(node), [['CONFIG', 'GET', ...PARAMETERS], ...PARAMETERS.map((p) => ['CONFIG', 'GET', p])]);
      assert.deepEqual(Object.entries(probe.replies!.config!), Object.entries(expected));
      assert.equal(node.connections, 1, 'on the same connection');
    });
    it('a slow node that takes one parameter keeps its answer: the second round trip ends before the probe deadline', async () => {
      // Each answer 950 ms after its command, with a 1750 ms probe deadline: the first pipeline and
      // a second one do not both fit. The node is still reported from what it answered.
      const node = await fake(true, 950);
      const probe = await probeNode(node.addr, OPTIONS);
      assert.equal(probe.status, 'ok', probe.error);
      assert.match(probe.replies!.clusterNodes, /myself,master/);
      assert.deepEqual(probe.replies!.config, {}, 'the configuration is left unknown, not made up');
    });

    it('a refusal other than the arity error (a renamed CONFIG) is not asked again', async () => {
      const renamed = await startFakeNode({
        clusterNodes: nodeLine(nodeId(2), '127.0.0.1:2', 'myself,master', '0-16383'),
        unknownCommands: ['CONFIG'],
      });
      started.push(renamed);
      const probe = await probeNode(renamed.addr, OPTIONS);
      assert.equal(probe.status, 'ok', probe.error);
      assert.deepEqual(configGets(renamed).length, 1);
      assert.deepEqual(probe.replies!.config, {});
    });

    it('once one node of a collection took one parameter, the next are asked that way at once', async () => {
      const nodes = [await fake(true), await fake(true)];
      const configGet = { oneParameter: false };
      for (const node of nodes) assert.equal((await probeNode(node.addr, { ...OPTIONS, configGet })).status, 'ok');
      assert.equal(configGets(nodes[0]!).length, 1 + PARAMETERS.length);
      assert.deepEqual(
        configGets(nodes[1]!),
        PARAMETERS.map((p) => ['CONFIG', 'GET', p]),
      );
    });

    it('a nil or an integer among the values is not a setting (no "null" text)', async () => {
      const node = await startFakeNode({
        clusterNodes: nodeLine(nodeId(1), '127.0.0.1:1', 'myself,master', '0-16383'),
        rawConfigReply:
          '*6\r\n$29\r\ncluster-require-full-coverage\r\n$-1\r\n$12\r\nrepl-timeout\r\n:0\r\n$20\r\ncluster-node-timeout\r\n$5\r\n15000\r\n',
      });
      started.push(node);
      const probe = await probeNode(node.addr, OPTIONS);
      assert.deepEqual(probe.replies!.config, { 'cluster-node-timeout': '15000' });
    });
  });

  describe('a real Redis 7', () => {
    const cluster = useCluster({ masters: 3, replicasPerMaster: 0 });

    it('one CONFIG GET reads what asking one parameter at a time reads, in the same order', async () => {
      const seed = cluster().seeds[0]!;
      const probe = await probeNode(seed, OPTIONS);
      assert.equal(probe.status, 'ok', probe.error);
      const [host, port] = [seed.slice(0, seed.lastIndexOf(':')), Number(seed.slice(seed.lastIndexOf(':') + 1))];
      const redis = new Redis({ host, port, lazyConnect: true });
      try {
        await redis.connect();
        const version = /redis_version:(\d+)/.exec(await redis.info('server'))![1]!;
        assert.ok(Number(version) >= 7, `this test wants Redis >= 7, found ${version}`);
        const oneByOne: Array<[string, string]> = [];
        for (const p of PARAMETERS) {
          const pairs = (await redis.call('CONFIG', 'GET', p)) as string[];
          for (let i = 0; i + 1 < pairs.length; i += 2) oneByOne.push([pairs[i]!, pairs[i + 1]!]);
        }
        assert.equal(oneByOne.length, PARAMETERS.length);
        assert.deepEqual(Object.entries(probe.replies!.config!), oneByOne);
      } finally {
        redis.disconnect();
      }
    });
  });
});
