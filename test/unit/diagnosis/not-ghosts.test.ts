// What a failed, slot-less node really is, on pasted views (the `analyze` path): only stale
// entries are ghosts to forget; copies of a shard, replicas that are down, masters in an epoch
// conflict and instances that keep trying to join each get their own finding and no FORGET.
// The pastes are hand-made in the format the live clusters of the integration tests print.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parsePaste } from '../../../src/cluster/parse-paste';
import type { FindingCode } from '../../../src/diagnosis/types';
import { analyseSnapshot } from '../../../src/engine';
import type { FixPlan, PlannedReport } from '../../../src/repair/types';

const paste = (name: string): string => fs.readFileSync(path.join(__dirname, '../../fixtures/cluster-nodes', name), 'utf8');
const analyse = (text: string): PlannedReport => analyseSnapshot(parsePaste(text)).report;

function finding(report: PlannedReport, code: FindingCode) {
  const found = report.findings.find((f) => f.code === code);
  assert.ok(found, `${code} in ${report.findings.map((f) => f.code).join(', ')}`);
  return found;
}

function forgets(report: PlannedReport, id: string): FixPlan[] {
  return report.fixes.filter((p) => p.action === 'FORGET_GHOST_NODES' && p.steps.some((s) => s.command.includes(id)));
}

function assertNoGhost(report: PlannedReport, id: string): void {
  const ghosts = report.findings.filter((f) => f.code === 'GHOST_NODES' && f.nodes.includes(id));
  assert.deepEqual(
    ghosts.map((g) => g.detail),
    [],
    `${id.slice(0, 8)} called a ghost`,
  );
  assert.deepEqual(
    forgets(report, id).map((p) => p.title),
    [],
    `a plan forgets ${id.slice(0, 8)}`,
  );
}

const MASTER = '64301d91e5a4ca5bf2958528f7571414a3a6cfe2';
const REPLICA = 'c410ba2e8ce190a626c72316ddb6ac573c163966';

describe('analyze: a shard whose master and replica are both down', () => {
  const report = analyse(paste('shard-all-copies-down.txt'));

  it('names SHARD_ALL_COPIES_DOWN with both copies, not "no replica"', () => {
    assert.equal(report.primary, 'SHARD_ALL_COPIES_DOWN');
    assert.ok(!report.findings.some((f) => f.code === 'MASTER_DOWN_NO_REPLICA'));
    const f = finding(report, 'SHARD_ALL_COPIES_DOWN');
    assert.deepEqual(f.nodes, [MASTER, REPLICA]);
    assert.deepEqual(f.slots, [[0, 5460]]);
    assert.match(f.title, /Every copy of slots 0-5460 is down: master 127\.0\.0\.1:45241 and its replica 127\.0\.0\.1:46101/);
    // The ways back, in the order of data kept, and when Redis promotes by itself.
    const order = ['(1) restart the master', '(2) If it cannot come back: restart its replica', '(3) Only if no copy comes back'].map((t) =>
      f.detail.indexOf(t),
    );
    assert.ok(order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]!, f.detail);
    assert.match(f.detail, /redis#13234/);
    assert.match(f.detail, /nofailover/);
    assert.match(f.detail, /CLUSTER FAILOVER FORCE/);
    assert.match(f.detail, /not a ghost/);
  });

  it('never calls the failed replica a ghost, and forgets nothing', () => {
    assertNoGhost(report, REPLICA);
    assert.ok(!report.fixes.some((p) => p.action === 'FORGET_GHOST_NODES'));
  });

  it('ranks the ways back by data kept: restart the master, then the replica (then FORCE), only then the slots given away', () => {
    const titles = report.fixes.map((p) => `${p.action}: ${p.title}`);
    const restartMaster = titles.findIndex((t) => t.startsWith('RESTART_NODE: Restart redis-server on 127.0.0.1:45241'));
    const restartReplica = titles.findIndex(
      (t) =>
        t.startsWith('RESTART_NODE: If 127.0.0.1:45241 cannot come back: restart its replica 127.0.0.1:46101') && /FAILOVER FORCE/.test(t),
    );
    const assign = titles.findIndex((t) => t.startsWith('ASSIGN_UNCOVERED_SLOTS'));
    assert.ok(restartMaster === 0 && restartReplica === 1 && assign > restartReplica, titles.join('\n'));
    const replicaPlan = report.fixes[restartReplica]!;
    assert.equal(replicaPlan.executable, false);
    assert.ok(
      replicaPlan.preconditions.some((p) => /not promote it by itself/.test(p) && /redis#13234/.test(p)),
      replicaPlan.preconditions.join('\n'),
    );
    const assignPlan = report.fixes[assign]!;
    assert.ok(assignPlan.fixes.includes('SHARD_ALL_COPIES_DOWN'));
    assert.ok(
      assignPlan.preconditions.some((p) => p.includes('Neither 127.0.0.1:45241') && p.includes('127.0.0.1:46101')),
      assignPlan.preconditions.join('\n'),
    );
  });
});

describe('analyze: a replica down while its master is up', () => {
  const report = analyse(paste('replica-down.txt'));

  it('names REPLICA_DOWN with its master, suggests a restart, forgets nothing', () => {
    const f = finding(report, 'REPLICA_DOWN');
    assert.deepEqual(f.nodes, [REPLICA]);
    assert.match(f.detail, /its master 127\.0\.0\.1:45241 \(64301d91\) is up/);
    assert.match(f.detail, /Do not forget it/);
    assertNoGhost(report, REPLICA);
    const restart = report.fixes.find((p) => p.action === 'RESTART_NODE' && p.fixes.includes('REPLICA_DOWN'));
    assert.ok(restart, report.fixes.map((p) => p.title).join('\n'));
    assert.match(restart.title, /Restart the replica redis-server on 127\.0\.0\.1:46101 with its data dir/);
  });
});

describe('analyze: a failed master sharing its config epoch with a live slot owner (split brain)', () => {
  const FAILED = '0dd7f1c2d3e4f5061728394a5b6c7d8e9f0a1b2c';
  const OWNER = '1aa7f1c2d3e4f5061728394a5b6c7d8e9f0a1b2c';

  it('one view: names the conflict (both nodes, the epoch, who would win), not a ghost', () => {
    const report = analyse(paste('split-brain-one-view.txt'));
    const f = finding(report, 'SPLIT_BRAIN');
    assert.deepEqual(f.nodes, [FAILED, OWNER]);
    assert.match(f.title, /shares config epoch 3 with 10\.0\.0\.1:6379/);
    // Redis's collision rule: the lower node id bumps its epoch and wins.
    assert.match(f.detail, /the node with the lower id \(10\.0\.0\.4:6379\) bumps its epoch/);
    assert.match(f.detail, /Do not forget it/);
    assertNoGhost(report, FAILED);
  });

  it('two views each claiming the slots: names both claimants and the contested slots', () => {
    const report = analyse(paste('split-brain-two-views.txt'));
    const f = finding(report, 'SPLIT_BRAIN');
    assert.deepEqual(new Set(f.nodes), new Set([FAILED, OWNER]));
    assert.deepEqual(f.slots, [[0, 5460]]);
    assert.match(f.detail, /both claim slots 0-5460 in their own views/);
    assert.match(f.detail, /With equal epochs nothing decides/);
    assertNoGhost(report, FAILED);
    assertNoGhost(report, OWNER);
  });
});

describe('analyze: handshake entries at one address under new ids', () => {
  const report = analyse(paste('handshake-churn.txt'));
  const ids = [
    '2c93bdbf6b83b9722ad7ecc642773ab6e3366b1b',
    '932868bb72aaa22183934db6ce51020112dd88a4',
    '03ed05b4179966cad3eb45dff33c060c70690774',
  ];

  it('names an instance that keeps trying to join; FORGET is not offered (it would do nothing)', () => {
    const f = finding(report, 'NODE_KEEPS_JOINING');
    assert.equal(f.severity, 'warning');
    assert.equal(report.primary, 'NODE_KEEPS_JOINING');
    assert.deepEqual(new Set(f.nodes), new Set(ids));
    assert.match(f.title, /An instance at 127\.0\.0\.1:43557 keeps trying to join/);
    assert.match(f.detail, /CLUSTER FORGET does nothing here/);
    assert.match(f.detail, /find the instance at that address/i);
    for (const id of ids) assertNoGhost(report, id);
  });

  it('a single handshake is only a note: Redis drops it by itself', () => {
    const lines = paste('handshake-churn.txt')
      .split('\n')
      .filter((l) => !l.startsWith('932868bb') && !l.startsWith('03ed05b4'))
      .join('\n');
    const single = analyse(lines);
    const f = finding(single, 'NODE_KEEPS_JOINING');
    assert.equal(f.severity, 'info');
    assert.equal(f.category, 'risk');
    assert.equal(single.primary, null);
    assert.ok(!single.fixes.some((p) => p.action === 'FORGET_GHOST_NODES'));
  });
});

describe('analyze: stale entries are still ghosts to forget', () => {
  it('a failed master whose slots its promoted replica serves, and a noaddr leftover', () => {
    const report = analyse(paste('stale-entries.txt'));
    const f = finding(report, 'GHOST_NODES');
    assert.deepEqual(new Set(f.nodes), new Set(['e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca', 'b1b2c3d4e5f60718293a4b5c6d7e8f9012345678']));
    assert.ok(report.fixes.some((p) => p.action === 'FORGET_GHOST_NODES'));
    assert.ok(!report.findings.some((f) => ['REPLICA_DOWN', 'SPLIT_BRAIN', 'SHARD_ALL_COPIES_DOWN'].includes(f.code)));
  });
});
