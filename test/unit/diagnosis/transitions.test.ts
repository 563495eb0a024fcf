// Transitions on snapshots captured from real clusters, edited into each state and each side of
// its bound: the same replies read as a transition inside the bound and as the fault past it.
import assert from 'node:assert/strict';
import type { ClusterSnapshot } from '../../../src/cluster/types';
import { parseClusterNodes } from '../../../src/cluster/parse-nodes';
import type { Finding, FindingCode } from '../../../src/diagnosis/types';
import { failoverWindowMs } from '../../../src/diagnosis/rules/transitions';
import { analyseSnapshot } from '../../../src/engine';
import { loadFixture } from '../repair/fixtures';
import type { PlannedReport } from '../../../src/repair/types';

function snapshotOf(scenario: string): ClusterSnapshot {
  return structuredClone(loadFixture(scenario).snapshot);
}

const report = (snapshot: ClusterSnapshot): PlannedReport => analyseSnapshot(snapshot).report;
const codes = (r: PlannedReport): string => r.findings.map((f) => `${f.code}/${f.category}`).join(', ');

function finding(r: PlannedReport, code: FindingCode): Finding {
  const found = r.findings.find((f) => f.code === code);
  assert.ok(found, `${code} in ${codes(r)}`);
  return found;
}

describe('transitions: a failover inside its window', () => {
  // Master 0 killed and flagged fail; its replica is healthy once its nofailover flag is gone.
  const base = snapshotOf('replica-not-promoted');
  const dead = parseClusterNodes(base.probes.find((p) => p.status === 'ok')!.replies!.clusterNodes).find((l) => l.flags.includes('fail'))!;

  /** The same snapshot, with every node's clock `silentMs` past its last pong from the dead master. */
  function silentFor(silentMs: number | null, { noFailover = false } = {}): ClusterSnapshot {
    const snapshot = structuredClone(base);
    for (const probe of snapshot.probes) {
      const replies = probe.replies;
      if (!replies) continue;
      if (!noFailover) replies.clusterNodes = replies.clusterNodes.replace(/slave,nofailover/g, 'slave');
      const line = parseClusterNodes(replies.clusterNodes).find((l) => l.id === dead.id && !l.flags.includes('myself'));
      if (silentMs !== null && line) replies.timeMs = line.pongRecv + silentMs;
    }
    return snapshot;
  }

  it('is FAILOVER_IN_PROGRESS (info), with the expected end, and no plan acts on the master', () => {
    const r = report(silentFor(1500));
    const f = finding(r, 'FAILOVER_IN_PROGRESS');
    assert.equal(f.category, 'transition');
    assert.equal(f.severity, 'info');
    assert.equal(f.nodes[0], dead.id);
    assert.match(f.detail, /expected to fail over within about node-timeout plus the election delay \(~2 s\)/);
    assert.match(f.detail, /no node has heard from it for 1\.5 s/);
    assert.equal(Date.parse(f.transition!.until!) - Date.parse(f.transition!.since!), failoverWindowMs(1000));
    assert.ok(!r.findings.some((x) => x.code === 'REPLICA_NOT_PROMOTED'), codes(r));
    assert.ok(!r.findings.some((x) => x.category === 'fault'), codes(r));
    assert.deepEqual(
      r.fixes.map((p) => p.action),
      [],
      'restart, promote, reassign and partial coverage all wait',
    );
  });

  it('past the window: REPLICA_NOT_PROMOTED with the reason, and the plans come back', () => {
    const r = report(silentFor(failoverWindowMs(1000) + 1000));
    const f = finding(r, 'REPLICA_NOT_PROMOTED');
    assert.match(f.detail, /No node has heard from it for 6 s, longer than Redis takes to fail over by itself \(5 s\)/);
    assert.ok(r.fixes.some((p) => p.action === 'PROMOTE_REPLICA'));
    assert.ok(r.fixes.some((p) => p.action === 'RESTART_NODE'));
  });

  it('a replica Redis cannot promote (nofailover): no waiting, the plans at once, with the reason', () => {
    const r = report(silentFor(500, { noFailover: true }));
    assert.match(finding(r, 'REPLICA_NOT_PROMOTED').detail, /flagged nofailover/);
    assert.ok(r.fixes.some((p) => p.action === 'PROMOTE_REPLICA'));
  });

  it('no clock in the replies (an old capture, a paste): no waiting on a failure already agreed', () => {
    const r = report(silentFor(null));
    assert.match(finding(r, 'REPLICA_NOT_PROMOTED').detail, /cannot be read from the replies/);
  });
});

describe('transitions: replica links', () => {
  // The surviving master of the quorum-lost capture and its replica (link up).
  const base = snapshotOf('quorum-lost');
  const masterProbe = base.probes.find((p) => p.replies?.infoReplication?.includes('role:master'))!;
  const replicaProbe = base.probes.find((p) => p.replies?.infoReplication?.includes('master_link_status:up'))!;
  const replicaPort = replicaProbe.addr.split(':')[1]!;

  function edited(replica: Record<string, string>, masterSlaveState?: string): ClusterSnapshot {
    const snapshot = structuredClone(base);
    const r = snapshot.probes.find((p) => p.addr === replicaProbe.addr)!.replies!;
    for (const [key, value] of Object.entries(replica)) {
      r.infoReplication = new RegExp(`^${key}:`, 'm').test(r.infoReplication!)
        ? r.infoReplication!.replace(new RegExp(`^${key}:.*$`, 'm'), `${key}:${value}`)
        : `${r.infoReplication!}\r\n${key}:${value}`;
    }
    const m = snapshot.probes.find((p) => p.addr === masterProbe.addr)!.replies!;
    m.infoReplication = m.infoReplication!.replace(
      /^slave0:.*$/m,
      masterSlaveState ? `slave0:ip=127.0.0.1,port=${replicaPort},state=${masterSlaveState},offset=0,lag=0` : '',
    );
    return snapshot;
  }
  const down = { master_link_status: 'down', master_sync_in_progress: '0', master_link_down_since_seconds: '-1' };

  it('first sync pending (the master says wait_bgsave): REPLICA_SYNCING, not REPLICATION_BROKEN', () => {
    const r = report(edited(down, 'wait_bgsave'));
    const f = finding(r, 'REPLICA_SYNCING');
    assert.equal(f.category, 'transition');
    assert.ok(f.evidence.some((e) => e.includes('state=wait_bgsave')));
    assert.ok(!r.findings.some((x) => x.code === 'REPLICATION_BROKEN'), codes(r));
  });

  it('data on its way (master_sync_in_progress:1): REPLICA_SYNCING with the progress', () => {
    const r = report(
      edited({
        ...down,
        master_sync_in_progress: '1',
        master_sync_total_bytes: '1000',
        master_sync_read_bytes: '250',
        master_sync_last_io_seconds_ago: '0',
      }),
    );
    assert.match(finding(r, 'REPLICA_SYNCING').detail, /250 of 1000 bytes \(25%\)/);
  });

  it('a sync silent for longer than repl-timeout: REPLICATION_BROKEN (Redis itself gives up on it)', () => {
    const r = report(edited({ ...down, master_sync_in_progress: '1', master_sync_last_io_seconds_ago: '75' }));
    assert.match(finding(r, 'REPLICATION_BROKEN').detail, /no exchange for 75 s, longer than repl-timeout \(60 s\)/);
  });

  it('never linked and the master does not list it: REPLICATION_BROKEN at once (masterauth, network)', () => {
    const r = report(edited(down));
    assert.match(finding(r, 'REPLICATION_BROKEN').detail, /has not had a link since it started/);
  });

  it('a link down for 2 s: REPLICA_RECONNECTING; for 4 s (past 3 x node-timeout): REPLICATION_BROKEN', () => {
    const early = report(edited({ ...down, master_link_down_since_seconds: '2' }));
    assert.equal(finding(early, 'REPLICA_RECONNECTING').category, 'transition');
    assert.ok(!early.findings.some((x) => x.code === 'REPLICATION_BROKEN'), codes(early));
    const late = report(edited({ ...down, master_link_down_since_seconds: '4' }));
    assert.match(finding(late, 'REPLICATION_BROKEN').detail, /for 4 s, past the 3 x node-timeout/);
  });
});

describe('transitions: a resharding at work', () => {
  const base = snapshotOf('open-slot');

  function counted(first: number, later: number): ClusterSnapshot {
    const snapshot = structuredClone(base);
    for (const probe of snapshot.probes) {
      const replies = probe.replies!;
      if (!replies.openSlotKeys) continue;
      const source = replies.clusterNodes.includes('[100->-');
      replies.openSlotKeys = { 100: source ? first : 0 };
      replies.openSlotKeysLater = { afterMs: 300, counts: { 100: source ? later : 0 } };
    }
    return snapshot;
  }

  it('keys moving between the two counts: RESHARDING_IN_PROGRESS, and no plan closes the slot', () => {
    const r = report(counted(40, 32));
    const f = finding(r, 'RESHARDING_IN_PROGRESS');
    assert.deepEqual(f.slots, [[100, 100]]);
    assert.match(f.detail, /32 keys left on .*, 8 moved to .* within 300 ms/);
    assert.ok(!r.findings.some((x) => x.code === 'OPEN_SLOTS'), codes(r));
    assert.deepEqual(
      r.fixes.filter((p) => p.action === 'CLOSE_OPEN_SLOTS'),
      [],
    );
    assert.equal(r.verdict, 'ok');
  });

  it('keys that do not move: OPEN_SLOTS (interrupted), with its plans', () => {
    const r = report(counted(40, 40));
    assert.equal(r.primary, 'OPEN_SLOTS');
    assert.ok(r.fixes.some((p) => p.action === 'CLOSE_OPEN_SLOTS'));
  });
});
