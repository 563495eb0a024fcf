// States a healthy cluster passes through, made live on real clusters: each is named as what it
// is (severity info, category transition), never as a fault, and no plan gives slots away while
// Redis is failing a master over by itself. Each also becomes the fault once it outlasts its bound.
import assert from 'node:assert/strict';
import { collectSnapshot } from '../../../src/cluster/collect-snapshot';
import type { Finding } from '../../../src/diagnosis/types';
import { analyseSnapshot } from '../../../src/engine';
import { eventually, parseInfo, useCluster, type TestCluster, type TestNode } from '../../helpers/cluster';
import { offeredPlanProblems } from '../../helpers/offered-plans';
import { slotMove } from '../../helpers/slot-keys';
import type { PlannedReport } from '../../../src/repair/types';

async function diagnoseLive(
  c: TestCluster,
  seeds = c.nodes.filter((n) => n.alive && n.role !== 'spare').map((n) => n.addr),
): Promise<PlannedReport> {
  const snapshot = await collectSnapshot({ cluster: 'test', seeds, connectTimeoutMs: 500, commandTimeoutMs: 1000 });
  const { report } = analyseSnapshot(snapshot);
  assert.deepEqual(await offeredPlanProblems(report), [], 'an offered plan fails its own precondition');
  return report;
}

const codes = (report: PlannedReport): string[] => report.findings.map((f) => `${f.code}/${f.category}`);
const faults = (report: PlannedReport): Finding[] => report.findings.filter((f) => f.category === 'fault');

function transition(report: PlannedReport, code: string): Finding {
  const found = report.findings.find((f) => f.code === code);
  assert.ok(found, `no ${code} in ${codes(report).join(', ')}`);
  assert.equal(found.category, 'transition');
  assert.equal(found.severity, 'info');
  assert.ok(found.transition?.bound, 'says its bound');
  return found;
}

/** The master's `slaveN` line for this replica says a full sync is pending. */
async function syncPending(master: TestNode, replica: TestNode, c: TestCluster): Promise<void> {
  await eventually(
    async () => {
      const info = parseInfo((await c.client(master).call('INFO', 'replication')) as string);
      return Object.entries(info).some(
        ([k, v]) => /^slave\d+$/.test(k) && v.includes(`port=${replica.port},`) && v.includes('state=wait_bgsave'),
      );
    },
    { what: `${master.addr} to list ${replica.addr} waiting for its sync` },
  );
}

describe('transitional states on real clusters', function () {
  this.timeout(90_000);

  describe('a replica being added: its first sync', () => {
    const cluster = useCluster({ masters: 3, spares: 1 });

    it('is REPLICA_SYNCING (info), not REPLICATION_BROKEN; the cluster stays ok', async () => {
      const c = cluster();
      const master = c.masters()[0]!;
      const spare = c.spares()[0]!;
      // Redis's default: a diskless sync waits for more replicas first (5 s); 20 s leaves room.
      await c.client(master).call('CONFIG', 'SET', 'repl-diskless-sync-delay', '20');
      await c.client(spare).call('CLUSTER', 'MEET', master.host, String(master.port), String(master.busPort));
      await c.waitForNodes(
        (views) => [...views.values()].every((lines) => lines.some((l) => l.id === spare.id && !l.flags.includes('handshake'))),
        { what: 'every node to know the new node' },
      );
      await eventually(async () => (await c.clusterNodes(spare)).filter((l) => !l.flags.includes('handshake')).length === 4, {
        what: 'the new node to know every node',
      });
      await c.client(spare).call('CLUSTER', 'REPLICATE', master.id);
      await syncPending(master, spare, c);
      // The state under test is the first sync once the cluster knows the new replica. Until gossip
      // has told every node (slower on a loaded machine), views still list it as a master, which is
      // another state (NODES_DISAGREE) and made this test fail now and then.
      await c.waitForNodes(
        (views) => [...views.values()].every((lines) => lines.some((l) => l.id === spare.id && l.masterId === master.id)),
        { what: `every node to list ${spare.addr} as a replica of ${master.addr}` },
      );

      const report = await diagnoseLive(c, [...c.masters().map((m) => m.addr), spare.addr]);
      const syncing = transition(report, 'REPLICA_SYNCING');
      assert.deepEqual(syncing.nodes, [spare.id, master.id]);
      assert.match(syncing.detail, /repl-diskless-sync-delay \(20 s\)/);
      assert.ok(
        syncing.evidence.some((e) => e.includes('state=wait_bgsave')),
        syncing.evidence.join('\n'),
      );
      assert.deepEqual(faults(report), [], codes(report).join(', '));
      assert.equal(report.verdict, 'ok');
      assert.equal(report.primary, null);
    });
  });

  describe('a master killed: the failover inside its window, then the old master rejoining', () => {
    // node-timeout 2000 ms: long enough to diagnose inside the window on a loaded machine.
    const cluster = useCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 2000 });

    it('is FAILOVER_IN_PROGRESS with no plan touching its slots; Redis fails over; the old master resyncing is REPLICA_SYNCING', async () => {
      const c = cluster();
      const master = c.masters()[0]!;
      const [replica] = c.replicasOf(master);
      await c.kill(master);

      const during = await diagnoseLive(c);
      const failover = transition(during, 'FAILOVER_IN_PROGRESS');
      assert.equal(failover.nodes[0], master.id);
      assert.ok(failover.nodes.includes(replica!.id));
      assert.match(failover.detail, /expected to fail over within about node-timeout plus the election delay \(~3 s\)/);
      assert.ok(failover.transition!.until, 'says by when');
      assert.ok(!during.findings.some((f) => f.code === 'REPLICA_NOT_PROMOTED'), codes(during).join(', '));
      const touching = during.fixes.filter((p) =>
        ['PROMOTE_REPLICA', 'ASSIGN_UNCOVERED_SLOTS', 'RESTART_NODE', 'ALLOW_PARTIAL_COVERAGE'].includes(p.action),
      );
      assert.deepEqual(
        touching.map((p) => p.title),
        [],
        'no plan gives its slots away inside the window',
      );

      // Redis does it by itself.
      await c.waitForNodes(
        (views) =>
          [...views.values()].every((lines) => lines.some((l) => l.id === replica!.id && l.flags.includes('master') && l.slots.length > 0)),
        { what: 'the replica to be promoted', timeoutMs: 30_000 },
      );
      await c.waitUntilOk({ timeoutMs: 30_000 });

      // The old master comes back with its nodes.conf: it rejoins as a replica of its successor
      // and resyncs; the successor waits 20 s before sending (as Redis's default 5 s would).
      await c.client(replica!).call('CONFIG', 'SET', 'repl-diskless-sync-delay', '20');
      await c.restart(master);
      await syncPending(replica!, master, c);
      const after = await diagnoseLive(c);
      const syncing = transition(after, 'REPLICA_SYNCING');
      assert.deepEqual(syncing.nodes, [master.id, replica!.id]);
      assert.match(syncing.title, /rejoining and resyncing/);
      assert.match(syncing.detail, /took over in a failover .* the old master rejoining/);
      assert.deepEqual(faults(after), [], codes(after).join(', '));
      assert.equal(after.verdict, 'ok');
    });
  });

  describe('a replica whose link drops', () => {
    const cluster = useCluster({ masters: 3, replicasPerMaster: 1 });

    it('is REPLICA_RECONNECTING within 3 x node-timeout, REPLICATION_BROKEN once past it', async () => {
      const c = cluster();
      const replica = c.replicas()[0]!;
      // It reconnects with a password the master refuses, so the link stays down.
      await c.client(replica).call('CONFIG', 'SET', 'masterauth', 'not-the-password');
      await c.client(replica).call('CLIENT', 'KILL', 'TYPE', 'master');
      const early = await diagnoseLive(c);
      const reconnecting = transition(early, 'REPLICA_RECONNECTING');
      assert.deepEqual(reconnecting.nodes[0], replica.id);
      assert.deepEqual(faults(early), [], codes(early).join(', '));

      await eventually(
        async () =>
          Number(parseInfo((await c.client(replica).call('INFO', 'replication')) as string)['master_link_down_since_seconds']) > 3,
        { what: 'the link to stay down past 3 s' },
      );
      const late = await diagnoseLive(c);
      const broken = late.findings.find((f) => f.code === 'REPLICATION_BROKEN');
      assert.ok(broken, codes(late).join(', '));
      assert.deepEqual(broken.nodes, [replica.id]);
      assert.match(broken.detail, /past the 3 x node-timeout a reconnect takes/);
    });
  });

  describe('an operator resharding a slot', () => {
    const cluster = useCluster({ masters: 3 });

    it('is RESHARDING_IN_PROGRESS while keys move (no plan closes it), OPEN_SLOTS once they stop', async () => {
      const c = cluster();
      const slot = 300;
      const { source, target, tag } = await slotMove(c, slot);
      const keys = Array.from({ length: 400 }, (_, i) => `{${tag}}:${i}`);
      for (const k of keys) await c.client(source).set(k, k);
      await c.openSlot(slot, source, target);

      // A resharding tool at work: MIGRATE a few keys at a time, without pause.
      let stop = false;
      const mover = (async () => {
        for (let i = 0; i < keys.length && !stop; i += 2) {
          await c.client(source).call('MIGRATE', target.host, String(target.port), '', '0', '5000', 'KEYS', keys[i]!, keys[i + 1]!);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      try {
        const during = await diagnoseLive(c);
        const resharding = transition(during, 'RESHARDING_IN_PROGRESS');
        assert.deepEqual(resharding.slots, [[slot, slot]]);
        assert.ok(!during.findings.some((f) => f.code === 'OPEN_SLOTS'), codes(during).join(', '));
        assert.deepEqual(
          during.fixes.filter((p) => p.action === 'CLOSE_OPEN_SLOTS'),
          [],
          'no plan closes a slot under a running resharding',
        );
        assert.equal(during.verdict, 'ok');
      } finally {
        stop = true;
        await mover;
      }

      const interrupted = await diagnoseLive(c);
      assert.equal(interrupted.primary, 'OPEN_SLOTS', codes(interrupted).join(', '));
      assert.ok(interrupted.fixes.some((p) => p.action === 'CLOSE_OPEN_SLOTS'));
    });
  });

  describe('a node being added', () => {
    const cluster = useCluster({ masters: 3, spares: 1 });

    it('is NODE_JOINING while it catches up: no fault, and its cluster_state:fail does not make the cluster down', async () => {
      const c = cluster();
      const spare = c.spares()[0]!;
      const master = c.masters()[0]!;
      await c.client(master).call('CLUSTER', 'MEET', spare.host, String(spare.port), String(spare.busPort));
      const seeds = [...c.masters().map((m) => m.addr), spare.addr];
      const reports: PlannedReport[] = [];
      // Until the new node knows every node and slot, each diagnosis must see a join, not a fault.
      for (;;) {
        const report = await diagnoseLive(c, seeds);
        reports.push(report);
        const joined = (await c.clusterInfo(spare))['cluster_state'] === 'ok' && !report.findings.some((f) => f.code === 'NODE_JOINING');
        if (joined || reports.length >= 40) break;
      }
      const joining = reports.filter((r) => r.findings.some((f) => f.code === 'NODE_JOINING'));
      assert.ok(joining.length > 0, `no diagnosis caught the join: ${reports.map((r) => codes(r).join(',')).join(' | ')}`);
      for (const report of reports) {
        assert.deepEqual(
          faults(report).map((f) => f.code),
          [],
          faults(report)
            .map((f) => `${f.detail}\n${f.evidence.join('\n')}`)
            .join('\n'),
        );
        assert.equal(report.verdict, 'ok', codes(report).join(', '));
      }
      const finding = transition(joining[0]!, 'NODE_JOINING');
      assert.deepEqual(finding.nodes, [spare.id]);
    });
  });
});
