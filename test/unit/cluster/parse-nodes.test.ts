import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ParseError } from '../../../src/errors';
import { parseClusterInfo } from '../../../src/cluster/parse-info';
import { parseClusterNodes, parseClusterNodesLine } from '../../../src/cluster/parse-nodes';

const fixture = (name: string): string => fs.readFileSync(path.join(__dirname, '../../fixtures/cluster-nodes', name), 'utf8');

describe('parseClusterNodes', () => {
  const nodes = parseClusterNodes(fixture('every-flag.txt'));
  const byId = (prefix: string) => nodes.find((n) => n.id.startsWith(prefix))!;

  it('parses every line of a reply', () => {
    assert.equal(nodes.length, 10);
  });

  it('reads address, bus port and hostname', () => {
    const replica = byId('07c37dfe');
    assert.equal(replica.addr, '127.0.0.1:30004');
    assert.equal(replica.busPort, 31004);
    assert.equal(replica.hostname, 'host-4.example.com');
    assert.deepEqual(replica.flags, ['slave']);
    assert.equal(replica.masterId, 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca');
  });

  it('reads single slots, ranges and open slots on the myself line', () => {
    const me = byId('e7d1eecc');
    assert.deepEqual(me.flags, ['myself', 'master']);
    assert.deepEqual(me.slots, [
      [0, 5459],
      [5460, 5460],
    ]);
    assert.deepEqual(me.migrating, [{ slot: 5461, to: '67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1' }]);
    assert.deepEqual(me.importing, [{ slot: 93, from: '292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f' }]);
  });

  it('reads handshake, noaddr, fail?, nofailover and noflags', () => {
    assert.deepEqual(byId('a1b2c3d4').flags, ['handshake']);
    const noaddr = byId('b1b2c3d4');
    assert.deepEqual(noaddr.flags, ['master', 'fail', 'noaddr']);
    assert.equal(noaddr.addr, '');
    assert.equal(noaddr.linkState, 'disconnected');
    assert.deepEqual(byId('6ec23923').flags, ['slave', 'nofailover']);
    assert.deepEqual(byId('d1b2c3d4').flags, ['master', 'noflags']);
  });

  it('splits IPv6 addresses on the last colon and ignores 7.2 auxiliary fields', () => {
    const v6 = byId('c1b2c3d4');
    assert.equal(v6.host, '2001:db8::7');
    assert.equal(v6.port, 6379);
    assert.deepEqual(v6.flags, ['master', 'fail?']);
    const aux = byId('d1b2c3d4');
    assert.equal(aux.addr, '10.0.0.9:6379');
    assert.equal(aux.hostname, undefined);
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['too few fields', 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 master', /at least 8 fields/],
    ['short id', 'e7d1ee 127.0.0.1:30001@31001 master - 0 0 1 connected', /40 hex/],
    [
      'unknown flag',
      'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 master,weird - 0 0 1 connected',
      /unknown flag "weird"/,
    ],
    [
      'slot out of range',
      'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 master - 0 0 1 connected 0-16384',
      /bad slot range/,
    ],
    ['reversed range', 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 master - 0 0 1 connected 10-5', /bad slot range/],
    ['bad link state', 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 master - 0 0 1 linked', /link state/],
    ['no port', 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca localhost master - 0 0 1 connected', /address must be ip:port/],
    ['bad master id', 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 slave xyz 0 0 1 connected', /master id/],
  ];
  for (const [name, line, message] of malformed) {
    it(`throws a ParseError naming the line: ${name}`, () => {
      assert.throws(
        () => parseClusterNodes(`${fixture('master-fail-no-replica.txt')}${line}\n`),
        (err: unknown) => {
          assert.ok(err instanceof ParseError);
          assert.equal(err.line, 4);
          assert.match(err.message, /^line 4: /);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it('parses a generated 1000-node reply', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => {
      const id = i.toString(16).padStart(40, '0');
      const from = Math.floor((i * 16384) / 1000);
      const to = Math.floor(((i + 1) * 16384) / 1000) - 1;
      return `${id} 10.0.${i >> 8}.${i & 255}:6379@16379 master - 0 0 ${i} connected ${from}-${to}`;
    });
    const parsed = parseClusterNodes(lines.join('\n'));
    assert.equal(parsed.length, 1000);
    assert.equal(parsed.at(-1)!.slots[0]![1], 16383);
  });

  it('keeps the raw line for evidence', () => {
    const line = fixture('master-fail-no-replica.txt').split('\n')[2]!;
    assert.equal(parseClusterNodesLine(line).raw, line);
  });
});

describe('parseClusterInfo', () => {
  it('reads the state and slot counters', () => {
    const info = parseClusterInfo(fixture('master-fail-no-replica.info.txt'));
    assert.equal(info.state, 'fail');
    assert.equal(info.slotsOk, 10923);
    assert.equal(info.slotsFail, 5461);
    assert.equal(info.knownNodes, 3);
    assert.ok(info.lines.includes('cluster_state:fail'));
  });

  it('rejects text without cluster_state', () => {
    assert.throws(() => parseClusterInfo('cluster_slots_ok:1\n'), ParseError);
    assert.throws(() => parseClusterInfo('nonsense line\n'), /line 1: expected a key:value line/);
  });
});
