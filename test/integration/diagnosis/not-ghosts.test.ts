// Failed nodes that own no slots but are not ghosts, each on a real cluster driven into that
// state: a replica down while its master is up; a failed master whose slots were given to
// another master with the same config epoch (split brain in waiting, and what happens when it
// comes back); an instance that keeps
// sending CLUSTER MEET and shows up in handshake under a new id at every attempt.
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load';
import { diagnoseCluster } from '../../../src/engine';
import { eventually, freePort, parseClusterNodes, useCluster, type TestCluster, type TestNode } from '../../helpers/cluster';
import type { PlannedReport } from '../../../src/repair/types';
import { offeredPlanProblems } from '../../helpers/offered-plans';

const config = parseConfig({});

async function diagnoseLive(
  c: TestCluster,
  seeds = c.nodes.filter((n) => n.role !== 'spare' && n.alive).map((n) => n.addr),
): Promise<PlannedReport> {
  const { report } = await diagnoseCluster({ name: 'test', seeds, tls: false, spareNodes: [] }, config);
  // Part of the scenario suite: no plan offered on these clusters fails its own precondition.
  assert.deepEqual(await offeredPlanProblems(report), [], 'an offered plan fails its own precondition');
  return report;
}

function codes(report: PlannedReport): string {
  return report.findings.map((f) => f.code).join(', ');
}

/** `count` key names whose slots are within from-to (asked to `node`: CLUSTER KEYSLOT). */
async function keysInSlots(c: TestCluster, node: TestNode, from: number, to: number, count: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) {
    const slot = Number(await c.client(node).call('CLUSTER', 'KEYSLOT', `k${i}`));
    if (slot >= from && slot <= to) keys.push(`k${i}`);
  }
  return keys;
}

function assertNotForgotten(report: PlannedReport, id: string): void {
  assert.ok(
    !report.findings.some((f) => f.code === 'GHOST_NODES' && f.nodes.includes(id)),
    `${id.slice(0, 8)} called a ghost: ${codes(report)}`,
  );
  const forget = report.fixes.filter((p) => p.action === 'FORGET_GHOST_NODES' && p.steps.some((s) => s.command.includes(id)));
  assert.deepEqual(
    forget.map((p) => p.title),
    [],
    'a plan forgets it',
  );
}

describe('diagnosis on real clusters: failed nodes that are not ghosts', function () {
  this.timeout(60_000);

  describe('a replica killed while its master is up (3 masters + 3 replicas)', () => {
    const cluster = useCluster({ masters: 3, replicasPerMaster: 1 });

    it('names REPLICA_DOWN with a restart, never a ghost; restarted, it replicates again', async () => {
      const c = cluster();
      const master = c.masters()[1]!;
      const replica = c.replicasOf(master)[0]!;
      await c.kill(replica);
      await c.waitUntilFlagged(replica, 'fail');

      const report = await diagnoseLive(c);
      assert.equal(report.primary, 'REPLICA_DOWN', codes(report));
      const f = report.findings[0]!;
      assert.deepEqual(f.nodes, [replica.id]);
      assert.match(f.detail, new RegExp(`its master ${master.addr} \\(${master.id.slice(0, 8)}\\) is up`));
      assertNotForgotten(report, replica.id);
      const restart = report.fixes.find((p) => p.action === 'RESTART_NODE');
      assert.ok(restart && !restart.executable, report.fixes.map((p) => p.title).join('\n'));
      assert.match(restart.title, new RegExp(`^Restart the replica redis-server on ${replica.addr} with its data dir`));

      // The fix that keeps the copy: restart it (same dir and nodes.conf).
      await c.restart(replica);
      await c.waitForNodes(
        (views) =>
          [...views.values()].every((lines) => {
            const line = lines.find((l) => l.id === replica.id);
            return line !== undefined && !line.flags.includes('fail') && !line.flags.includes('fail?');
          }),
        { what: `${replica.addr} no longer flagged failed` },
      );
      await eventually(async () => /master_link_status:up/.test((await c.client(replica).call('INFO', 'replication')) as string), {
        what: 'replication link up',
      });
      const healed = await diagnoseLive(c);
      assert.ok(!healed.findings.some((x) => x.code === 'REPLICA_DOWN'), codes(healed));
    });
  });

  describe('a failed master whose slots another master took by hand with the same config epoch (3 masters + 1 spare, AOF)', () => {
    const cluster = useCluster({ masters: 3, spares: 1, persistence: 'aof' });

    it('names SPLIT_BRAIN (both nodes, the shared epoch, who would win), not a ghost to forget; restarted, the lower id wins and the other side loses its keys', async () => {
      const c = cluster();
      const [failed, second, third] = c.masters();
      const taker = c.spares()[0]!;
      const [failedKey, takerKey] = await keysInSlots(c, failed!, 0, 5460, 2);
      await c.client(failed!).set(failedKey!, 'written on the failed master');
      // The failed master keeps slots 0-5460 at config epoch 1 in its nodes.conf.
      await c.kill(failed!);
      await c.waitUntilFlagged(failed!, 'fail');
      // On the other side, a new master claims them with that same epoch, and the others drop
      // the dead owner from their tables so that the claim is accepted (no epoch bump anywhere).
      await c.client(taker).call('CLUSTER', 'SET-CONFIG-EPOCH', '1');
      await c.client(taker).call('CLUSTER', 'ADDSLOTSRANGE', '0', '5460');
      for (const node of [second!, third!]) await c.client(node).call('CLUSTER', 'DELSLOTSRANGE', '0', '5460');
      await c.client(second!).call('CLUSTER', 'MEET', taker.host, String(taker.port), String(taker.busPort));
      await c.waitUntilOk({ what: 'the taker serves 0-5460 everywhere' });

      const report = await diagnoseLive(c, [second!.addr]);
      const f = report.findings.find((x) => x.code === 'SPLIT_BRAIN');
      assert.ok(f, codes(report));
      assert.deepEqual(f.nodes, [failed!.id, taker.id]);
      assert.match(f.title, new RegExp(`failed master ${failed!.addr} shares config epoch 1 with ${taker.addr}`));
      const lower = failed!.id < taker.id ? failed! : taker;
      assert.match(f.detail, new RegExp(`the node with the lower id \\(${lower.addr}\\) bumps its epoch`));
      assertNotForgotten(report, failed!.id);

      // What the finding warns about, for real: the failed master comes back with its nodes.conf,
      // the two see each other, the lower id takes a new epoch and wins, and the other side
      // becomes its replica and drops its own keys of those slots.
      await c.client(taker).set(takerKey!, 'written on the taker');
      await c.restart(failed!);
      const loser = lower === failed ? taker : failed!;
      await c.waitForNodes(
        (views) =>
          [...views.values()].every((lines) => {
            const win = lines.find((l) => l.id === lower.id);
            const lose = lines.find((l) => l.id === loser.id);
            return (
              win?.flags.includes('master') === true &&
              win.slots.includes('0-5460') &&
              lose?.flags.includes('slave') === true &&
              lose.masterId === lower.id
            );
          }),
        { what: `${lower.addr} (lower id) to own 0-5460 everywhere, ${loser.addr} its replica` },
      );
      // A restarted master reports cluster_state:fail for a rejoin delay before serving.
      await c.waitUntilOk({ what: 'every node serves again after the restart' });
      const [kept, lost] = lower === failed ? [failedKey!, takerKey!] : [takerKey!, failedKey!];
      assert.notEqual(await c.client(lower).get(kept), null, 'the winner keeps its key');
      assert.equal(await c.client(lower).get(lost), null, "the loser's key of the contested slots is gone");
      await eventually(async () => (await c.client(loser).dbsize()) === (await c.client(lower).dbsize()), {
        what: 'the loser resynced from the winner',
      });
    });
  });

  describe('an instance that keeps sending CLUSTER MEET, its bus port unreachable (3 masters + 1 outsider)', () => {
    const cluster = useCluster({ masters: 3, spares: 1 });

    it('names NODE_KEEPS_JOINING with the instance at that address; neither FORGET nor MEET is offered', async () => {
      const c = cluster();
      const outsider = c.spares()[0]!;
      const member = c.masters()[0]!;
      // A removed machine, firewalled on its bus port, still running a loop of CLUSTER MEET.
      await c.client(outsider).call('CONFIG', 'SET', 'cluster-announce-bus-port', String(await freePort()));
      let meeting = true;
      const loop = (async () => {
        while (meeting) {
          await c
            .client(outsider)
            .call('CLUSTER', 'MEET', member.host, String(member.port), String(member.busPort))
            .catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })();
      try {
        // Each MEET leaves a handshake entry with a new random id; Redis drops it after node-timeout.
        await eventually(
          async () => {
            const lines = parseClusterNodes((await c.client(member).call('CLUSTER', 'NODES')) as string);
            return new Set(lines.filter((l) => l.flags.includes('handshake') && l.addr === outsider.addr).map((l) => l.id)).size >= 2;
          },
          { what: "two handshake ids at the outsider's address" },
        );

        const report = await diagnoseLive(c);
        const f = report.findings.find((x) => x.code === 'NODE_KEEPS_JOINING');
        assert.ok(f, codes(report));
        assert.equal(f.severity, 'warning');
        assert.equal(report.primary, 'NODE_KEEPS_JOINING', codes(report));
        assert.match(f.title, new RegExp(`An instance at ${outsider.addr} keeps trying to join`));
        assert.ok(f.nodes.includes(outsider.id), 'names the instance that answers there');
        assert.match(
          f.detail,
          new RegExp(`The instance answering at ${outsider.addr} has id ${outsider.id.slice(0, 8)}, which no member lists, while it knows`),
        );
        assert.match(f.detail, /CLUSTER FORGET does nothing here/);
        assert.ok(!report.findings.some((x) => x.code === 'GHOST_NODES'), codes(report));
        assert.ok(!report.fixes.some((p) => p.action === 'FORGET_GHOST_NODES'), report.fixes.map((p) => p.title).join('\n'));
        assert.ok(
          !report.fixes.some((p) => p.steps.some((s) => s.command.join(' ').includes(String(outsider.port)))),
          'no plan meets the outsider',
        );
      } finally {
        meeting = false;
        await loop;
      }
    });
  });
});
