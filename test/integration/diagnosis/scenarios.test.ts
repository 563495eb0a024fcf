import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { collectSnapshot } from '../../../src/cluster/collect-snapshot';
import { parsePaste } from '../../../src/cluster/parse-paste';
import { analyseSnapshot } from '../../../src/engine';
import { freePort, useCluster, type TestCluster, type TestNode } from '../../helpers/cluster';
import { offeredPlanProblems } from '../../helpers/offered-plans';
import { slotMove } from '../../helpers/slot-keys';
import type { PlannedReport } from '../../../src/repair/types';

// Each scenario breaks a real cluster the way production breaks, then asks every node. Across
// the whole suite, no plan the diagnosis offers may fail its own precondition on that cluster.
async function diagnoseLive(cluster: TestCluster, seeds: string[] = cluster.seeds): Promise<PlannedReport> {
  const snapshot = await collectSnapshot({ cluster: 'test', seeds, connectTimeoutMs: 500, commandTimeoutMs: 1000 });
  const spareNodes = cluster.spares().map((s) => s.addr);
  const { report } = analyseSnapshot(snapshot, spareNodes);
  assert.deepEqual(await offeredPlanProblems(report, { spareNodes }), [], 'an offered plan fails its own precondition');
  return report;
}

function codes(report: PlannedReport): string[] {
  return report.findings.map((f) => f.code);
}

describe('diagnosis on real clusters', function () {
  this.timeout(60000);

  describe('healthy 3 masters + 3 replicas', () => {
    const cluster = useCluster({ masters: 3, replicasPerMaster: 1 });
    it('is ok, every node asked, no fault; only risks', async () => {
      const report = await diagnoseLive(cluster(), [cluster().seeds[0]!]);
      assert.equal(report.verdict, 'ok');
      assert.equal(report.primary, null);
      assert.equal(report.nodes.length, 6);
      assert.ok(report.nodes.every((n) => n.reachable === true && n.clusterState === 'ok'));
      assert.deepEqual(report.coverage.uncovered, []);
      assert.equal(report.coverage.ok, 16384);
      assert.ok(
        report.findings.every((f) => f.category === 'risk'),
        codes(report).join(),
      );
      // Loopback puts every replica on its master's host: a real risk, reported as such.
      assert.ok(codes(report).includes('REPLICA_SAME_HOST'));
      assert.ok(codes(report).includes('FULL_COVERAGE_SETTING'));
    });
  });

  describe('a master with no replica is killed', () => {
    const cluster = useCluster({ masters: 3 });
    it('names MASTER_DOWN_NO_REPLICA with its exact slots as uncovered', async () => {
      const c = cluster();
      const victim = c.masters()[2]!;
      await c.kill(victim);
      await c.waitUntilFail();
      const report = await diagnoseLive(c);
      assert.equal(report.verdict, 'down');
      assert.equal(report.primary, 'MASTER_DOWN_NO_REPLICA');
      assert.deepEqual(report.coverage.uncovered, [[10923, 16383]]);
      assert.deepEqual(report.coverage.servedByFailedMaster, [[10923, 16383]]);
      const finding = report.findings[0]!;
      assert.deepEqual(finding.nodes, [victim.id]);
      assert.ok(
        finding.evidence.some((e) => e.includes(victim.id) && /master,fail/.test(e)),
        finding.evidence.join('\n'),
      );
      assert.ok(finding.evidence.some((e) => /cluster_state:fail/.test(e)));
      assert.ok(finding.evidence.some((e) => /connection refused/.test(e)));
      assert.equal(report.nodes.find((n) => n.id === victim.id)!.reachable, false);
    });
  });

  describe('2 of 3 masters killed (3 masters + 3 replicas)', () => {
    const cluster = useCluster({ masters: 3, replicasPerMaster: 1 });
    it('names QUORUM_LOST and lists the orphan replicas', async () => {
      const c = cluster();
      const dead = await c.killMasters(2);
      await c.waitUntilFlagged(dead[0]!, 'fail?');
      await c.waitUntilFlagged(dead[1]!, 'fail?');
      const report = await diagnoseLive(c);
      assert.equal(report.primary, 'QUORUM_LOST');
      assert.equal(report.verdict, 'down');
      // The survivor cannot reach a majority: it says cluster_state:fail and serves nothing.
      assert.deepEqual(report.coverage.uncovered, [[0, 16383]]);
      assert.deepEqual(report.coverage.servedByFailedMaster, [[0, 10922]]);
      assert.equal(report.coverage.ok, 0);
      const finding = report.findings[0]!;
      for (const master of dead) {
        assert.ok(finding.nodes.includes(master.id));
        for (const replica of c.replicasOf(master)) assert.ok(finding.nodes.includes(replica.id), 'orphan replica listed');
      }
      assert.ok(!codes(report).includes('REPLICA_NOT_PROMOTED'), 'quorum loss explains the missing promotion');
    });
  });

  describe('an unreachable majority: 1 of 2 masters killed, flagged fail? only (no majority to agree on fail)', () => {
    const cluster = useCluster({ masters: 2 });
    it('is down, every slot unserved (the survivor refuses its own slots too), live and from a paste of the survivor', async () => {
      const c = cluster();
      const [survivor, victim] = c.masters() as [TestNode, TestNode];
      await c.kill(victim);
      await c.waitUntilFlagged(victim, 'fail?');
      await c.waitFor((infos) => /cluster_state:fail/.test(infos.get(survivor.addr) ?? ''), { what: 'the survivor to say fail' });
      const live = await diagnoseLive(c);
      assert.equal(live.verdict, 'down');
      assert.equal(live.primary, 'QUORUM_LOST');
      assert.deepEqual(live.coverage.uncovered, [[0, 16383]]);
      assert.deepEqual(live.coverage.servedByFailedMaster, victim.slots);
      assert.match(live.findings[0]!.detail, /refuses all queries \(CLUSTERDOWN\), its own slots 0-8191 too/);
      // What people paste: the survivor's CLUSTER NODES alone, where the victim is only `fail?`.
      const nodes = (await c.client(survivor).call('CLUSTER', 'NODES')) as string;
      assert.match(nodes, /master,fail\? /);
      const { report: pasted } = analyseSnapshot(parsePaste(`${survivor.addr}> cluster nodes\n${nodes}`));
      assert.equal(pasted.verdict, 'down');
      assert.deepEqual(pasted.coverage.uncovered, [[0, 16383]]);
      assert.equal(pasted.coverage.ok, 0);
    });
  });

  describe('only slots 0-15999 assigned', () => {
    const cluster = useCluster({ masters: 3, slots: [[0, 15999]] });
    it('names SLOTS_UNASSIGNED with 16000-16383 uncovered', async () => {
      const report = await diagnoseLive(cluster());
      assert.equal(report.primary, 'SLOTS_UNASSIGNED');
      assert.equal(report.verdict, 'down');
      assert.deepEqual(report.coverage.uncovered, [[16000, 16383]]);
      assert.deepEqual(report.coverage.unassigned, [[16000, 16383]]);
      assert.equal(report.coverage.assigned, 16000);
      assert.ok(report.findings[0]!.evidence.some((e) => /cluster_slots_assigned:16000/.test(e)));
    });
  });

  describe('DELSLOTSRANGE on an owner', () => {
    const cluster = useCluster({ masters: 3 });
    it('names SLOTS_UNASSIGNED on that owner (its keys are still there) and the disagreement', async () => {
      const c = cluster();
      const owner = c.masters()[0]!;
      await c.delSlotsRange(owner, 100, 199);
      await c.waitFor((infos) => /cluster_state:fail/.test(infos.get(owner.addr) ?? ''), { what: 'owner says fail' });
      const report = await diagnoseLive(c);
      assert.equal(report.primary, 'SLOTS_UNASSIGNED');
      assert.deepEqual(report.coverage.uncovered, [[100, 199]]);
      const finding = report.findings[0]!;
      assert.deepEqual(finding.nodes, [owner.id]);
      assert.match(finding.detail, /no longer claims slots 100-199/);
      assert.ok(codes(report).includes('NODES_DISAGREE'));
    });
  });

  describe('an open slot', () => {
    const cluster = useCluster({ masters: 3 });
    it('names OPEN_SLOTS, cluster still serving everything', async () => {
      const c = cluster();
      const [source, target] = c.masters();
      await c.openSlot(42, source!, target!);
      const report = await diagnoseLive(c);
      assert.equal(report.primary, 'OPEN_SLOTS');
      assert.equal(report.verdict, 'degraded');
      assert.deepEqual(report.coverage.uncovered, []);
      assert.deepEqual(report.findings[0]!.slots, [[42, 42]]);
      assert.match(report.findings[0]!.detail, /slot 42 is MIGRATING from .* to /);
      assert.match(report.findings[0]!.detail, /slot 42 is IMPORTING into /);
    });
  });

  describe('an open slot with keys on both ends', () => {
    const cluster = useCluster({ masters: 3 });
    it('counts the keys on each end and offers only the key move', async () => {
      const c = cluster();
      const { source, target, tag } = await slotMove(c, 42);
      const keys = [1, 2, 3].map((i) => `{${tag}}:${i}`);
      for (const k of keys) await c.client(source).set(k, k);
      await c.openSlot(42, source, target);
      assert.equal(await c.client(source).call('MIGRATE', target.host, String(target.port), '', '0', '5000', 'KEYS', keys[0]!), 'OK');
      const report = await diagnoseLive(c);
      assert.match(
        report.findings[0]!.detail,
        new RegExp(`MIGRATING from ${source.addr} to ${target.addr} \\(2 keys on ${source.addr}, 1 key on ${target.addr}\\)`),
      );
      assert.deepEqual(
        report.fixes.filter((p) => p.action === 'CLOSE_OPEN_SLOTS').map((p) => p.title.split(':')[0]),
        ['Finish the interrupted migration of slot 42'],
      );
    });
  });

  describe('one node frozen with SIGSTOP', () => {
    const cluster = useCluster({ masters: 3, replicasPerMaster: 1 });
    it('finishes within the timeouts and names the silent node', async () => {
      const c = cluster();
      const frozen = c.replicas()[0]!;
      c.freeze(frozen);
      const started = Date.now();
      const report = await diagnoseLive(c);
      const elapsed = Date.now() - started;
      c.thaw(frozen);
      // Not a speed goal: proof that it ends. Each discovery round is bounded by connect (500)
      // + command (1000) + margin; redis-cli --cluster check would hang here forever.
      assert.ok(elapsed < 3 * (500 + 1000 + 250), `diagnosis took ${elapsed} ms`);
      assert.equal(report.primary, 'NODE_UNREACHABLE');
      const node = report.nodes.find((n) => n.id === frozen.id)!;
      assert.equal(node.reachable, false);
      assert.match(node.error!, /no reply within 1000 ms|no answer within/);
    });
  });

  describe('a ghost node', () => {
    const cluster = useCluster({ masters: 3 });
    it('names GHOST_NODES, cluster still ok', async () => {
      const c = cluster();
      const ghost = await c.makeGhost();
      const report = await diagnoseLive(c);
      assert.equal(report.primary, 'GHOST_NODES');
      assert.deepEqual(report.findings[0]!.nodes, [ghost.id]);
      assert.deepEqual(report.coverage.uncovered, []);
      assert.ok(!codes(report).includes('NODE_UNREACHABLE'), 'the ghost is not reported twice');
    });
  });
});

describe('diagnosis on real clusters: the cluster bus port', function () {
  this.timeout(60000);
  const cluster = useCluster({ masters: 3 });
  it('names BUS_PORT_UNREACHABLE for a node announcing a bus port nothing listens on', async () => {
    const c = cluster();
    const node = c.masters()[1]!;
    const closed = await freePort();
    // What a firewall in front of the bus port looks like from outside: the announced port refuses.
    await c.client(node).call('CONFIG', 'SET', 'cluster-announce-bus-port', String(closed));
    const report = await diagnoseLive(c);
    const finding = report.findings.find((f) => f.code === 'BUS_PORT_UNREACHABLE');
    assert.ok(finding, codes(report).join());
    assert.deepEqual(finding.nodes, [node.id]);
    assert.match(finding.evidence[0]!, new RegExp(`bus port ${closed}: ECONNREFUSED`));
  });
});

describe('diagnosis on real clusters: a node restarted with an empty nodes.conf', function () {
  this.timeout(60000);
  const cluster = useCluster({ masters: 3, replicasPerMaster: 1 });
  it('names the old id a ghost (its peers mark it noaddr) and the new, empty node a split view', async () => {
    const c = cluster();
    const replica = c.replicas()[0]!;
    await c.kill(replica);
    fs.rmSync(path.join(replica.dir, 'nodes.conf'), { force: true });
    await c.restart(replica);
    // Measured on 7.0: once another id answers at its address, the peers drop the old id's
    // address (`:0@0 slave,noaddr`) rather than flag it fail.
    await c.waitForNodes(
      (views) =>
        [...views.entries()].every(
          ([addr, lines]) => addr === replica.addr || lines.some((l) => l.id === replica.id && l.flags.includes('noaddr')),
        ),
      { what: 'old id marked noaddr' },
    );
    const report = await diagnoseLive(c);
    const ghost = report.findings.find((f) => f.code === 'GHOST_NODES');
    assert.ok(ghost, codes(report).join());
    assert.deepEqual(ghost.nodes, [replica.id]);
    assert.match(ghost.detail, /has no address \(noaddr\)/);
    // The restarted node is asked (it is a seed): it knows nobody, and the views disagree.
    const disagree = report.findings.find((f) => f.code === 'NODES_DISAGREE');
    assert.ok(disagree, codes(report).join());
  });
});
