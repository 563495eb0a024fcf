import assert from 'node:assert/strict';
import { allowedNetworksLine, busPortAllowed, clusterScope, defaultAllowedNetworks, parseNetworkEntry } from '../../../src/cluster/scope';
import { parseConfig } from '../../../src/config/load';

describe("cluster scope: where a cluster's nodes may live", () => {
  describe('the default (allowedNetworks unset)', () => {
    it("an IP seed allows that IP only, any port: not its network (issue 11: a /24 holds other teams' Redis)", () => {
      assert.deepEqual(defaultAllowedNetworks(['10.0.0.31:6379', '10.0.0.32:6379', '10.0.0.31:7000']), ['10.0.0.31', '10.0.0.32']);
      assert.deepEqual(defaultAllowedNetworks(['[fd00:1:2:3::31]:6379']), ['fd00:1:2:3::31']);
      const scope = clusterScope({ seeds: ['10.0.0.31:6379', '10.0.0.32:6379'], spareNodes: ['10.0.0.40:6379'] });
      assert.ok(scope.allows('10.0.0.31:6380'), "any port on a seed's host");
      assert.ok(scope.allows('10.0.0.40:7001'), "any port on a spare's host");
      assert.ok(!scope.allows('10.0.0.34:6379'), 'not another host of the subnet');
      assert.ok(!scope.allows('192.168.0.1:6379'));
      assert.match(scope.description, /10\.0\.0\.31, 10\.0\.0\.32, 10\.0\.0\.40 \(the default: the seeds' and spares' own hosts/);
    });

    it('the queue Redis is never in scope: not by default, not by allowedNetworks, not as a seed (issue 11)', () => {
      const never = ['127.0.0.1:6379'];
      const loopback = clusterScope({ seeds: ['127.0.0.1:30001'], neverContact: never });
      assert.ok(loopback.allows('127.0.0.1:30002'));
      for (const addr of ['127.0.0.1:6379', 'localhost:6379', 'LOCALHOST:6379']) assert.ok(!loopback.allows(addr), addr);
      assert.ok(loopback.never?.('localhost:6379'));
      const wide = clusterScope({ seeds: ['127.0.0.1:6379'], allowedNetworks: ['127.0.0.0/8'], neverContact: ['localhost:6379'] });
      assert.ok(!wide.allows('127.0.0.1:6379'), 'a seed at the queue address is not asked either');
      assert.ok(!wide.allows('[::1]:6379'));
      assert.ok(wide.allows('127.0.0.5:6379'));
      assert.match(wide.description, /never the queue Redis \(localhost:6379\)/);
    });

    it('the config loader puts the queue Redis address in every cluster', () => {
      const config = parseConfig({
        queue: { redisUrl: 'redis://user:pw@10.9.9.9/0' },
        clusters: [{ name: 'a', seeds: ['10.9.9.9:7000'] }],
      });
      assert.deepEqual(config.clusters[0]!.neverContact, ['10.9.9.9:6379']);
      const scope = clusterScope(config.clusters[0]!);
      assert.ok(scope.allows('10.9.9.9:7001'));
      assert.ok(!scope.allows('10.9.9.9:6379'));
    });

    it('bus ports: port + 10000 of an allowed address, or an allowed port of the same host', () => {
      const narrow = clusterScope({
        seeds: ['10.0.0.1:7000'],
        allowedNetworks: ['10.0.0.0/24:7000-7005'],
        neverContact: ['10.0.0.1:6379'],
      });
      assert.ok(busPortAllowed(narrow, '10.0.0.2:7001', 17001));
      assert.ok(busPortAllowed(narrow, '10.0.0.2:7001', 7002));
      assert.ok(busPortAllowed(narrow, '10.0.0.2:7001', undefined));
      assert.ok(!busPortAllowed(narrow, '10.0.0.2:7001', 16379), 'a bus port outside the allowed ports');
      assert.ok(!busPortAllowed(narrow, '10.0.0.1:7000', 6379), 'the queue Redis as a bus port');
      assert.ok(!busPortAllowed(narrow, '10.0.0.9:6379', 16379), 'a data address outside the scope');
      assert.ok(!busPortAllowed(narrow, '10.0.0.2:7001', 70000));
    });

    it('the out-of-scope advice line: the entries in force plus each address exactly', () => {
      assert.equal(
        allowedNetworksLine(['10.0.0.31'], ['10.0.0.34:6379', '[fd00::1]:6379']),
        'allowedNetworks: ["10.0.0.31", "10.0.0.34:6379", "[fd00::1]:6379"]',
      );
    });

    it('a loopback seed allows that loopback address only; localhost allows 127.0.0.1 and ::1', () => {
      const scope = clusterScope({ seeds: ['127.0.0.1:30001'] });
      assert.ok(scope.allows('127.0.0.1:30099'));
      assert.ok(scope.allows('localhost:30099'), 'localhost is 127.0.0.1 for comparisons');
      assert.ok(!scope.allows('127.0.0.2:30001'), 'another loopback address is another service');
      assert.ok(!scope.allows('[::1]:30001'));
      assert.deepEqual(defaultAllowedNetworks(['localhost:7000']), ['127.0.0.1', '::1']);
      assert.ok(clusterScope({ seeds: ['localhost:7000'] }).allows('[::1]:7001'));
    });

    it('a host-name seed allows that name only (its nodes announce IPs no name predicts)', () => {
      const scope = clusterScope({ seeds: ['redis-0.redis.prod.svc.cluster.local:6379'] });
      assert.ok(scope.allows('REDIS-0.redis.prod.svc.cluster.local:6380'));
      assert.ok(!scope.allows('redis-1.redis.prod.svc.cluster.local:6379'));
      assert.ok(!scope.allows('10.244.1.5:6379'));
    });

    it('seeds and spare nodes are always allowed, exactly', () => {
      const scope = clusterScope({ seeds: ['10.0.0.31:6379'], spareNodes: ['192.168.9.9:6379'], allowedNetworks: [] });
      assert.ok(scope.allows('10.0.0.31:6379'));
      assert.ok(scope.allows('192.168.9.9:6379'));
      assert.ok(!scope.allows('10.0.0.32:6379'), 'allowedNetworks: [] means the seeds and spares only');
      assert.ok(!scope.allows('192.168.9.9:6380'));
      assert.match(scope.description, /seeds and spare nodes only/);
    });
  });

  describe('allowedNetworks entries', () => {
    const scope = clusterScope({
      seeds: ['10.0.0.31:6379'],
      allowedNetworks: [
        '10.1.0.0/16',
        '10.2.0.7',
        '10.3.0.0/24:7000-7005',
        '[fd00::/64]:6379',
        'fe80::1',
        'redis-a.internal',
        '*.redis.internal:6379',
      ],
    });
    const cases: Array<[string, boolean]> = [
      ['10.1.200.3:1234', true],
      ['10.2.0.7:6379', true],
      ['10.2.0.8:6379', false],
      ['10.3.0.9:7003', true],
      ['10.3.0.9:7006', false],
      ['[fd00::12]:6379', true],
      ['fd00::12:6379', true],
      ['[fd00::12]:6380', false],
      ['[fe80::1]:1', true],
      ['[::ffff:10.1.2.3]:6379', true],
      ['redis-a.internal:9', true],
      ['x.redis.internal:6379', true],
      ['a.b.redis.internal:6379', true],
      ['redis.internal:6379', false],
      ['x.redis.internal:6380', false],
      ['10.0.0.32:6379', false],
      // Forms the OS resolver reads as IPs, but ipaddr.js reads differently: never allowed.
      ['10.1.1:6379', false],
      ['168558593:6379', false],
      ['0x0a.1.0.1:6379', false],
      ['not an address', false],
      ['', false],
    ];
    for (const [addr, allowed] of cases) {
      it(`${allowed ? 'allows' : 'refuses'} ${addr || '(empty)'}`, () => assert.equal(scope.allows(addr), allowed));
    }

    it('refuses malformed entries with a message naming them, through the config schema', () => {
      for (const bad of [
        '10.0.0.0/33',
        '10.0.0.0/24:0',
        '10.0.0.0/24:7005-7000',
        'under_score.internal',
        '*',
        'http://x',
        '10.0.0.1:99999',
        '',
      ]) {
        assert.throws(() => parseNetworkEntry(bad), /^Error: ".*" (is|has)/, bad);
      }
      assert.throws(
        () => parseConfig({ clusters: [{ name: 'a', seeds: ['10.0.0.1:6379'], allowedNetworks: ['10.0.0.0/24', '10.0.0.0/40'] }] }),
        /clusters\.0\.allowedNetworks\.1: "10\.0\.0\.0\/40" is not a CIDR/,
      );
      const config = parseConfig({ clusters: [{ name: 'a', seeds: ['10.0.0.1:6379'], allowedNetworks: ['10.0.0.0/16'] }] });
      assert.deepEqual(config.clusters[0]!.allowedNetworks, ['10.0.0.0/16']);
      assert.equal(parseConfig({ clusters: [{ name: 'a', seeds: ['10.0.0.1:6379'] }] }).clusters[0]!.allowedNetworks, undefined);
    });

    it('has read caps with defaults, and refuses silly ones', () => {
      const { collection } = parseConfig({});
      assert.deepEqual(collection, { maxReplyBytes: 2 * 1024 * 1024, maxClusterNodesLines: 5000, maxNodes: 1000 });
      assert.throws(() => parseConfig({ collection: { maxReplyBytes: 10 } }), /collection\.maxReplyBytes/);
    });
  });
});
