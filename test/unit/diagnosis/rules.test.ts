// Every rule on snapshots captured from real clusters (test/fixtures/cluster-nodes/repair-*.json),
// plus small, named edits of them for states that are hard to produce on loopback.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parsePaste } from '../../../src/cluster/parse-paste';
import type { ClusterSnapshot, NodeProbe } from '../../../src/cluster/types';
import { diagnose } from '../../../src/diagnosis/diagnose';
import { analyseSnapshot } from '../../../src/engine';
import { MOVED_NOTE } from '../../../src/repair/plan';
import type { DiagnosisReport, FindingCode } from '../../../src/diagnosis/types';
import { loadFixture } from '../repair/fixtures';
import type { PlannedReport } from '../../../src/repair/types';

function snapshotOf(scenario: string): ClusterSnapshot {
  return structuredClone(loadFixture(scenario).snapshot);
}

function finding(report: DiagnosisReport, code: FindingCode) {
  const found = report.findings.find((f) => f.code === code);
  assert.ok(found, `${code} in ${report.findings.map((f) => f.code).join(', ')}`);
  return found;
}

function okProbes(snapshot: ClusterSnapshot): NodeProbe[] {
  return snapshot.probes.filter((p) => p.status === 'ok');
}

describe('diagnosis rules on captured snapshots', () => {
  it('healthy: ok, no fault, risks only', () => {
    const report = diagnose(snapshotOf('healthy-with-spare'));
    assert.equal(report.verdict, 'ok');
    assert.equal(report.primary, null);
    assert.ok(report.findings.every((f) => f.category === 'risk'));
    finding(report, 'MASTER_WITHOUT_REPLICA');
  });

  it('REPLICA_NOT_PROMOTED: master down, its live replica still a replica, quorum intact', () => {
    const report = diagnose(snapshotOf('replica-not-promoted'));
    assert.equal(report.primary, 'REPLICA_NOT_PROMOTED');
    const f = finding(report, 'REPLICA_NOT_PROMOTED');
    assert.match(f.detail, /CLUSTER FAILOVER FORCE/);
    assert.ok(
      f.evidence.some((e) => /slave,nofailover|nofailover/.test(e)) || f.evidence.some((e) => /master_link_status/.test(e)),
      f.evidence.join('\n'),
    );
    assert.equal(report.verdict, 'down');
  });

  it('QUORUM_LOST outranks the missing promotions', () => {
    const report = diagnose(snapshotOf('quorum-lost'));
    assert.equal(report.primary, 'QUORUM_LOST');
    assert.ok(!report.findings.some((f) => f.code === 'REPLICA_NOT_PROMOTED'));
    assert.equal(finding(report, 'QUORUM_LOST').severity, 'critical');
  });

  it('SLOTS_UNASSIGNED when the owner dropped slots others still route to it', () => {
    const report = diagnose(snapshotOf('slots-dropped-by-owner'));
    assert.equal(report.primary, 'SLOTS_UNASSIGNED');
    assert.deepEqual(report.coverage.uncovered, [[6000, 6099]]);
    assert.deepEqual(report.coverage.unassigned, [[6000, 6099]]);
    finding(report, 'NODES_DISAGREE');
  });

  it('NODES_DISAGREE on a split view (nodes that forgot each other)', () => {
    const report = diagnose(snapshotOf('split-view'));
    const f = finding(report, 'NODES_DISAGREE');
    assert.match(f.detail, /different configurations/);
    assert.ok(
      f.evidence.some((e) => /do not list/.test(e)),
      f.evidence.join('\n'),
    );
  });

  it('OPEN_SLOTS names both sides of the migration', () => {
    const report = diagnose(snapshotOf('open-slot'));
    assert.equal(report.primary, 'OPEN_SLOTS');
    assert.deepEqual(finding(report, 'OPEN_SLOTS').slots, [[100, 100]]);
  });

  it('GHOST_NODES for a dead slot-less master, and not NODE_UNREACHABLE again', () => {
    const report = diagnose(snapshotOf('ghost'));
    assert.equal(report.primary, 'GHOST_NODES');
    assert.ok(!report.findings.some((f) => f.code === 'NODE_UNREACHABLE'));
  });

  it("GHOST_NODES for an old id at a live node's address (restarted with an empty nodes.conf)", () => {
    const snapshot = snapshotOf('healthy-with-spare');
    const [first, second] = okProbes(snapshot);
    const lines = first!.replies!.clusterNodes.trim().split('\n');
    const addr = second!.addr;
    const old = `${'f'.repeat(40)} ${addr}@1 master,fail - 0 0 0 disconnected`;
    first!.replies!.clusterNodes = [...lines, old].join('\n');
    const report = diagnose(snapshot);
    assert.match(finding(report, 'GHOST_NODES').detail, /an old id: .* now answers as/);
  });

  it('REPLICATION_BROKEN: a replica whose link is down while its master is up', () => {
    const snapshot = snapshotOf('quorum-lost');
    // The replica of the surviving master: edit its INFO replication as a broken link shows it.
    const report0 = diagnose(snapshot);
    const survivor = report0.nodes.find((n) => n.role === 'master' && n.health === 'up')!;
    const replica = report0.nodes.find((n) => n.role === 'replica' && n.masterId === survivor.id)!;
    const probe = snapshot.probes.find((p) => p.addr === replica.addr)!;
    probe.replies!.infoReplication = probe.replies!.infoReplication!.replace('master_link_status:up', 'master_link_status:down');
    const f = finding(diagnose(snapshot), 'REPLICATION_BROKEN');
    assert.deepEqual(f.nodes, [replica.id]);
    assert.match(f.evidence[0]!, /master_link_status:down/);
  });

  it("BUS_PORT_UNREACHABLE when a node's cluster bus port refuses connections", () => {
    const snapshot = snapshotOf('healthy-with-spare');
    const probe = okProbes(snapshot)[0]!;
    probe.busPort = { port: 17000, reachable: false, error: 'ECONNREFUSED' };
    const f = finding(diagnose(snapshot), 'BUS_PORT_UNREACHABLE');
    assert.equal(f.category, 'risk');
    assert.match(f.evidence[0]!, /bus port 17000: ECONNREFUSED/);
  });

  it('FULL_COVERAGE_SETTING warns when nodes disagree on it, and explains the current effect', () => {
    const snapshot = snapshotOf('master-down-no-replica');
    const down = diagnose(structuredClone(snapshot));
    assert.match(finding(down, 'FULL_COVERAGE_SETTING').detail, /every node refuses all queries/);
    okProbes(snapshot)[0]!.replies!.config!['cluster-require-full-coverage'] = 'no';
    const mixed = finding(diagnose(snapshot), 'FULL_COVERAGE_SETTING');
    assert.equal(mixed.severity, 'warning');
    assert.match(mixed.detail, /nodes disagree/i);
  });

  it('NODE_UNREACHABLE for a silent replica the cluster still sees healthy', () => {
    const snapshot = snapshotOf('quorum-lost');
    const report0 = diagnose(structuredClone(snapshot));
    const survivor = report0.nodes.find((n) => n.role === 'master' && n.health === 'up')!;
    const replica = report0.nodes.find((n) => n.role === 'replica' && n.masterId === survivor.id)!;
    const probe = snapshot.probes.find((p) => p.addr === replica.addr)!;
    probe.status = 'unreachable';
    probe.error = 'connected, but no reply within 1000 ms (frozen or overloaded?)';
    probe.failure = 'no-reply';
    delete probe.replies;
    const f = finding(diagnose(snapshot), 'NODE_UNREACHABLE');
    assert.deepEqual(f.nodes, [replica.id]);
  });

  it('a snapshot with one unparseable reply still diagnoses the rest', () => {
    const snapshot = snapshotOf('healthy-with-spare');
    okProbes(snapshot)[0]!.replies!.clusterNodes = 'garbage that is not CLUSTER NODES';
    const report = diagnose(snapshot);
    assert.ok(report.nodes.length >= 2);
  });
});

describe('configured addresses that left the cluster', () => {
  it('SEED_NOT_IN_CLUSTER (a risk) for a dead seed no member lists, not NODE_UNREACHABLE', () => {
    const snapshot = snapshotOf('healthy-with-spare');
    snapshot.probes.push({
      addr: '127.0.0.1:1',
      status: 'unreachable',
      error: 'connection refused (ECONNREFUSED): nothing listens on that port',
      failure: 'refused',
      durationMs: 1,
    });
    const report = diagnose(snapshot);
    const f = finding(report, 'SEED_NOT_IN_CLUSTER');
    assert.equal(f.category, 'risk');
    assert.match(f.detail, /update the seeds/);
    assert.ok(!report.findings.some((x) => x.code === 'NODE_UNREACHABLE'));
    assert.equal(report.verdict, 'ok');
  });
});

// Issue 11: what a node says is data. An answer from the wrong node is not that node's view.
describe('answers that cannot be trusted', () => {
  it('NODE_ID_MISMATCH: another node answering at a listed address is not that node, and its view makes no plan', () => {
    const snapshot = snapshotOf('healthy-with-spare');
    const listed = okProbes(snapshot)[2]!;
    const listedId = listed
      .replies!.clusterNodes.split('\n')
      .find((l) => l.includes('myself'))!
      .split(' ')[0]!;
    // What the announce trick produced live: the address the others list for one node is
    // answered by an unrelated single-node cluster that owns all 16384 slots and knows nobody.
    const unrelated = 'e'.repeat(40);
    listed.replies = { ...listed.replies!, clusterNodes: `${unrelated} ${listed.addr}@1 myself,master - 0 0 1 connected 0-16383\n` };
    const { report } = analyseSnapshot(snapshot);
    const f = finding(report, 'NODE_ID_MISMATCH');
    assert.deepEqual(f.nodes, [listedId]);
    assert.match(
      f.detail,
      new RegExp(`at ${listed.addr} the cluster lists ${listed.addr} \\(${listedId.slice(0, 8)}\\), but eeeeeeee answers there`),
    );
    assert.ok(
      f.evidence.some((e) => e.startsWith(`[${listed.addr}] ${unrelated}`)),
      f.evidence.join('\n'),
    );
    assert.ok(!report.nodes.some((n) => n.id === unrelated), 'the unrelated node is not a node of this cluster');
    assert.ok(!report.findings.some((x) => x.code === 'NODES_DISAGREE'), report.findings.map((x) => x.code).join());
    assert.deepEqual(
      report.fixes.filter((p) => p.steps.some((s) => s.command.includes('MEET'))),
      [],
    );
    assert.equal(report.nodes.find((n) => n.id === listedId)!.reachable, null, 'the listed node is unknown, not down');
  });

  it("a node restarted with an empty nodes.conf is trusted once its peers drop the old id's address (noaddr)", () => {
    const snapshot = snapshotOf('healthy-with-spare');
    const probe = okProbes(snapshot)[2]!;
    const oldId = probe
      .replies!.clusterNodes.split('\n')
      .find((l) => l.includes('myself'))!
      .split(' ')[0]!;
    probe.replies = { ...probe.replies!, clusterNodes: `${'f'.repeat(40)} ${probe.addr}@1 myself,master - 0 0 0 connected\n` };
    for (const other of okProbes(snapshot).slice(0, 2)) {
      other.replies!.clusterNodes = other
        .replies!.clusterNodes.split('\n')
        .map((l) => (l.startsWith(oldId) ? l.replace(/ \S+ master /, ' :0@0 master,noaddr ') : l))
        .join('\n');
    }
    const report = diagnose(snapshot);
    assert.ok(!report.findings.some((f) => f.code === 'NODE_ID_MISMATCH'));
    assert.ok(report.nodes.some((n) => n.id === 'f'.repeat(40) && n.reachable === true));
  });

  it('NODE_OUT_OF_SCOPE quotes the line that named each address; READ_CAP_HIT names the dropped answer', () => {
    const snapshot = snapshotOf('healthy-with-spare');
    const line = `${'a'.repeat(40)} 10.9.9.9:6379@16379 master - 0 0 9 connected`;
    snapshot.outOfScope = [{ addr: '10.9.9.9:6379', namedBy: snapshot.probes[0]!.addr, line }];
    snapshot.scope = "127.0.0.1 (the default: the seeds' own networks; set allowedNetworks to change it)";
    snapshot.capsHit = [{ cap: 'maxReplyBytes', limit: 65536, addr: '127.0.0.1:9', detail: 'answered more than 65,536 bytes' }];
    const report = diagnose(snapshot);
    const out = finding(report, 'NODE_OUT_OF_SCOPE');
    assert.deepEqual(out.evidence, [`[${snapshot.probes[0]!.addr}] ${line}`]);
    assert.match(out.detail, /never connects to \(nor sends the password to\).*127\.0\.0\.1 \(the default/);
    const cap = finding(report, 'READ_CAP_HIT');
    assert.match(cap.evidence[0]!, /^\[127\.0\.0\.1:9\] redis-medic: answered more than 65,536 bytes/);
  });
});

describe('an unreachable majority is a down cluster (pastes of one view, masters only `fail?`)', () => {
  const paste = (name: string): PlannedReport =>
    analyseSnapshot(parsePaste(fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'cluster-nodes', name), 'utf8'))).report;

  for (const [name, survivorSlots, downSlots] of [
    ['majority-pfail-2-of-3.txt', '0-5460', [[5461, 16383]]],
    ['majority-pfail-1-of-2.txt', '0-8191', [[8192, 16383]]],
  ] as const) {
    it(`${name}: down, all 16384 slots unserved, the survivor's own slots refused too`, () => {
      const report = paste(name);
      assert.equal(report.verdict, 'down');
      assert.equal(report.primary, 'QUORUM_LOST');
      assert.deepEqual(report.coverage.uncovered, [[0, 16383]]);
      assert.equal(report.coverage.ok, 0);
      assert.deepEqual(report.coverage.servedByFailedMaster, downSlots);
      assert.match(
        finding(report, 'QUORUM_LOST').detail,
        new RegExp(`cluster_state:fail and refuses all queries \\(CLUSTERDOWN\\), its own slots ${survivorSlots} too`),
      );
      // Nobody needs to take the survivor's slots over: plans only move the down masters' ones.
      const added = report.fixes
        .flatMap((p) => p.steps)
        .filter((s) => s.command[1] === 'ADDSLOTSRANGE')
        .map((s) => s.command.slice(2).join(' '));
      assert.deepEqual([...new Set(added)], [`${downSlots[0]![0]} ${downSlots[0]![1]}`]);
    });
  }
});

describe('a paste taken right after a restart at new addresses (one view, nothing received since start)', () => {
  const report = analyseSnapshot(
    parsePaste(fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'cluster-nodes', 'restart-new-ips.txt'), 'utf8')),
  ).report;

  it('names ADDRESSES_CHANGED first: addresses may have changed, MEET before anything that loses keys', () => {
    assert.equal(report.primary, 'ADDRESSES_CHANGED');
    const found = finding(report, 'ADDRESSES_CHANGED');
    assert.match(found.title, /Every node looks down at once right after a restart/);
    assert.match(found.detail, /cluster_stats_messages_received:0/);
    assert.match(found.detail, /CLUSTER MEET <new-ip> <port> <bus-port>/);
    assert.match(found.detail, /cluster-announce-hostname/);
  });

  it('every plan that loses keys says to introduce the nodes at their new addresses first', () => {
    const lossy = report.fixes.filter((p) => p.dataLoss.slots.length > 0);
    assert.ok(lossy.length > 0);
    for (const plan of lossy) assert.ok(plan.preconditions.includes(MOVED_NOTE), plan.title);
  });

  it('without that sign (the peers heard from), the same view is quorum loss, not moved addresses', () => {
    const text = fs
      .readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'cluster-nodes', 'restart-new-ips.txt'), 'utf8')
      .replace('cluster_stats_messages_received:0', 'cluster_stats_messages_received:40');
    const other = analyseSnapshot(parsePaste(text)).report;
    assert.equal(other.primary, 'QUORUM_LOST');
    assert.ok(!other.findings.some((f) => f.code === 'ADDRESSES_CHANGED'));
  });
});
