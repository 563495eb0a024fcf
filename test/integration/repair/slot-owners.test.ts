// Slots nobody serves go to the node that holds their keys (issue 17 §2), on real clusters:
// keys migrated into a master that then died live on its promoted replica; a live node that
// claims the dead owner's slots in its own view (same config epoch: Redis never settles it)
// holds their keys. Each is driven into that state for real, then diagnosed, planned and run.
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { parsePaste } from '../../../src/cluster/parse-paste';
import { analyseSnapshot } from '../../../src/engine';
import { executePlan } from '../../../src/repair/executor';
import type { FixPlan, RepairResult } from '../../../src/repair/types';
import { eventually, freePort, useCluster, type TestCluster, type TestNode } from '../../helpers/cluster';
import { hashTagOf } from '../../helpers/slot-keys';
import { assertOkEverywhere, clusterConfigOf, config, diagnosisOf, useQueueRedis } from './support';

const commands = (plan: FixPlan): string[] => plan.steps.map((s) => `${s.node}> ${s.command.join(' ')}`);

function assertRepaired(result: RepairResult): void {
  assert.equal(result.status, 'repaired', `${result.reason ?? ''}\n${result.verification ?? ''}\n${JSON.stringify(result.steps, null, 2)}`);
}

/** `perSlot` keys in each of `slots` (hash tags found by asking the cluster). */
async function keysIn(client: Redis, slots: number[], perSlot: number): Promise<string[]> {
  const keys: string[] = [];
  for (const slot of slots) {
    const tag = await hashTagOf(client, slot);
    for (let n = 0; n < perSlot; n++) keys.push(`{${tag}}:${n}`);
  }
  return keys;
}

async function myEpoch(c: TestCluster, node: TestNode): Promise<number> {
  return Number((await c.clusterInfo(node))['cluster_my_epoch']);
}

describe('repair: slots go to the node that holds their keys (real clusters)', function () {
  this.timeout(60_000);
  const queue = useQueueRedis();
  const run = (cluster: ReturnType<typeof clusterConfigOf>, planId: string): Promise<RepairResult> =>
    executePlan({ cluster, config, planId, lockRedis: queue.redis(), lockPrefix: queue.prefix, actor: 'U0TEST' });

  describe('keys migrated into a master that died at once: its replica was promoted without them in its view', () => {
    const cluster = useCluster({ masters: 3, replicasPerMaster: 1 });
    const slots = [0, 1, 2, 3, 4];
    let source: TestNode;
    let dead: TestNode;
    let promoted: TestNode;
    let keys: string[];

    // The resharding of slots 0-4 from `source` to `dead` finishes (SETSLOT NODE on both), and
    // `dead` is killed before its replica hears of it: the replica then takes over every slot
    // of its master but those, which stay with the dead master in the others' views. The keys
    // of 0-4 were replicated to it all the same.
    before(async function () {
      this.timeout(60_000);
      const c = cluster();
      [source, dead] = c.masters() as [TestNode, TestNode];
      promoted = c.replicasOf(dead)[0]!;
      // The dead master's epoch is already the highest, so SETSLOT NODE does not bump it, and
      // nobody sends the replica an UPDATE for the slots it does not know about.
      await c.client(dead).call('CLUSTER', 'BUMPEPOCH');
      const epoch = await myEpoch(c, dead);
      await c.waitForNodes(
        (views) => [...views.values()].every((lines) => lines.some((l) => l.id === dead.id && l.raw.split(' ')[6] === String(epoch))),
        { what: 'every node to know the bumped epoch' },
      );
      keys = await keysIn(c.client(source), slots, 3);
      for (const key of keys) await c.client(source).call('SET', key, `value of ${key}`);
      for (const slot of slots) {
        await c.client(dead).call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
        await c.client(source).call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dead.id);
      }
      for (const key of keys) await c.client(source).call('MIGRATE', dead.host, dead.port, key, 0, 5000);
      assert.equal(await c.client(dead).call('WAIT', 1, 5000), 1, 'the replica has the migrated keys');
      // Its master must not tell the replica about the new slots: the SETSLOT that finishes an
      // import broadcasts a PONG to every node it has a link to, and answers every PING. So the
      // replica announces a bus port where nothing listens (nobody can open a link to it any
      // more) and is frozen (it sends no PING) until its master is dead.
      const closed = await freePort();
      await c.client(promoted).call('CONFIG', 'SET', 'cluster-announce-bus-port', String(closed));
      await c.waitForNodes(
        (views) =>
          [...views.entries()].every(
            ([addr, lines]) =>
              addr === promoted.addr || lines.some((l) => l.id === promoted.id && l.raw.split(' ')[1]!.includes(`@${closed}`)),
          ),
        { what: "everyone to know the replica's new bus port" },
      );
      c.freeze(promoted);
      await eventually(
        async () =>
          !((await c.client(dead).call('CLUSTER', 'LINKS')) as unknown[][])
            .map(toMap)
            .some((l) => l.get('direction') === 'to' && l.get('node') === promoted.id),
        { what: `${dead.addr} to have no link to its replica`, timeoutMs: 10_000 },
      );
      await Promise.all(slots.map((s) => c.client(source).call('CLUSTER', 'SETSLOT', s, 'NODE', dead.id)));
      await Promise.all(slots.map((s) => c.client(dead).call('CLUSTER', 'SETSLOT', s, 'NODE', dead.id)));
      await c.kill(dead);
      c.thaw(promoted);
      await c.client(promoted).call('CONFIG', 'SET', 'cluster-announce-bus-port', '0');
      await c.waitForNodes(
        (views) => [...views.values()].every((lines) => lines.find((l) => l.id === promoted.id)?.flags.includes('master') ?? false),
        { what: 'the replica to be promoted' },
      );
      const mine = (await c.clusterNodes(promoted)).find((l) => l.flags.includes('myself'))!;
      assert.ok(
        !mine.slots.some((s) => s.startsWith('0-') || s === '0'),
        `the promoted replica must not know slots 0-4 (it heard of them before it was promoted: ${mine.raw})`,
      );
      await c.waitForNodes(
        (views) => (views.get(source.addr) ?? []).some((l) => l.id === dead.id && l.flags.includes('fail') && l.slots.includes('0-4')),
        { what: `${source.addr} to route 0-4 to the dead master` },
      );
    });

    it('plans slots 0-4 onto the promoted replica (it holds their keys), not onto the master they came from, and says why', async () => {
      const c = cluster();
      const report = await diagnosisOf(clusterConfigOf(c));
      assert.deepEqual(report.coverage.servedByFailedMaster, [[0, 4]], JSON.stringify(report.coverage));
      const assign = report.fixes.filter((p) => p.action === 'ASSIGN_UNCOVERED_SLOTS');
      assert.ok(assign.length > 0, report.fixes.map((p) => p.title).join('\n'));
      const first = assign[0]!;
      assert.ok(
        first.steps.every((s) => s.node === promoted.addr),
        commands(first).join('\n'),
      );
      assert.deepEqual(first.steps.map((s) => s.command.join(' ')).slice(-2), ['CLUSTER ADDSLOTSRANGE 0 4', 'CLUSTER BUMPEPOCH']);
      assert.match(first.title, new RegExp(`to ${promoted.addr}: it holds their keys \\(15 counted`));
      assert.match(first.title, /promoted from a replica/);
      assert.match(first.dataLoss.text, /stay/);
      // Any plan that gives them elsewhere names the replica and the keys at stake.
      for (const other of assign.slice(1)) {
        assert.match(other.dataLoss.text, new RegExp(`${promoted.addr}.*15 keys`), other.title);
        assert.equal(other.risk, 'high');
      }
    });

    it('reads a paste of CLUSTER INFO printed after the failover votes (keys with a dash)', async () => {
      const c = cluster();
      const info = (await c.client(source).call('CLUSTER', 'INFO')) as string;
      assert.match(info, /cluster_stats_messages_auth-ack_sent:\d+/, 'a master that voted prints auth-ack counters');
      const nodes = (await c.client(source).call('CLUSTER', 'NODES')) as string;
      const { report } = analyseSnapshot(parsePaste(`${source.addr}> cluster nodes\n${nodes}\n${source.addr}> cluster info\n${info}`));
      assert.equal(report.offline, true);
      assert.equal(report.verdict, 'down');
      assert.ok(report.nodes.some((n) => n.id === dead.id && n.health === 'down'));
    });

    it('the repair serves slots 0-4 from the promoted replica with every key readable', async () => {
      const c = cluster();
      const target = clusterConfigOf(c);
      const plan = (await diagnosisOf(target)).fixes.find((p) => p.action === 'ASSIGN_UNCOVERED_SLOTS')!;
      assertRepaired(await run(target, plan.id));
      await assertOkEverywhere(c);
      for (const key of keys) assert.equal(await c.client(promoted).call('GET', key), `value of ${key}`);
    });
  });

  describe("views disagree: a live node claims the dead owner's slots in its own view, with the same config epoch", () => {
    const cluster = useCluster({ masters: 3, spares: 2 });
    let dead: TestNode;
    let claimant: TestNode;
    let empty: TestNode;
    let keys: string[];

    // A fresh node takes the dead owner's config epoch and claims part of its slots, holds keys
    // there, then joins: with equal epochs no node updates the other's claim, so the others
    // route those slots to the dead master forever while the claimant serves them in its view.
    before(async function () {
      this.timeout(60_000);
      const c = cluster();
      dead = c.masters()[2]!;
      // The other spare joins as an empty master that sorts first: "the live master with the
      // fewest slots" is not the claimant, so picking by slot count alone goes wrong.
      [empty, claimant] = [...c.spares()].sort((a, b) => a.addr.localeCompare(b.addr, 'en', { numeric: true })) as [TestNode, TestNode];
      const epoch = await myEpoch(c, dead);
      await c.kill(dead);
      await c.waitUntilFlagged(dead, 'fail');
      const x = c.client(claimant);
      await x.call('CLUSTER', 'SET-CONFIG-EPOCH', String(epoch));
      await x.call('CLUSTER', 'ADDSLOTSRANGE', '10923', '11999');
      // Alone it cannot cover every slot; only to write its keys it may serve a partial range.
      await x.call('CONFIG', 'SET', 'cluster-require-full-coverage', 'no');
      await eventually(async () => /cluster_state:ok/.test((await x.call('CLUSTER', 'INFO')) as string), {
        what: 'the claimant to serve its range',
      });
      keys = await keysIn(x, [10923, 11000, 11999], 4);
      for (const key of keys) await x.call('SET', key, 'v');
      await x.call('CONFIG', 'SET', 'cluster-require-full-coverage', 'yes');
      const [m0] = c.masters();
      await x.call('CLUSTER', 'MEET', m0!.host, String(m0!.port), String(m0!.busPort));
      await c.client(empty).call('CLUSTER', 'MEET', m0!.host, String(m0!.port), String(m0!.busPort));
      await c.waitForNodes(
        (views) => [...views.values()].every((lines) => lines.length === 5 && !lines.some((l) => l.flags.includes('handshake'))),
        { what: 'both newcomers known everywhere' },
      );
      await c.waitForNodes((views) => (views.get(m0!.addr) ?? []).some((l) => l.id === dead.id && l.slots.includes('10923-16383')), {
        what: 'the others to keep routing 10923-16383 to the dead master',
      });
    });

    it('ranks the claimant first: it keeps its slots and keys (BUMPEPOCH on it), and any other target names it and its keys', async () => {
      const c = cluster();
      const report = await diagnosisOf({ ...clusterConfigOf(c), spareNodes: [] });
      const assign = report.fixes.filter((p) => p.action === 'ASSIGN_UNCOVERED_SLOTS');
      assert.ok(assign.length >= 2, report.fixes.map((p) => p.title).join('\n'));
      const [first, other] = assign as [FixPlan, FixPlan];
      // Its epoch is the highest already, tied with the dead owner's: its own BUMPEPOCH would
      // say STILL, so another node raises the current epoch first and it waits to see it.
      const [add, raise, bump] = first.steps;
      assert.equal(first.steps.length, 3, commands(first).join('\n'));
      assert.equal(`${add!.node}> ${add!.command.join(' ')}`, `${claimant.addr}> CLUSTER ADDSLOTSRANGE 12000 16383`);
      assert.deepEqual(raise!.command, ['CLUSTER', 'BUMPEPOCH']);
      assert.notEqual(raise!.node, claimant.addr);
      assert.equal(raise!.waitFor?.node, claimant.addr);
      assert.equal(`${bump!.node}> ${bump!.command.join(' ')}`, `${claimant.addr}> CLUSTER BUMPEPOCH`);
      assert.match(first.title, new RegExp(`to ${claimant.addr}: it holds their keys \\(12 counted`));
      assert.match(first.title, /its own view says it owns them/);
      assert.ok(
        other.steps.every((s) => s.node === empty.addr),
        commands(other).join('\n'),
      );
      assert.equal(other.risk, 'high');
      assert.match(
        other.dataLoss.text,
        new RegExp(`${claimant.addr} \\(${claimant.id.slice(0, 8)}\\) claims slots 10923-11999 \\(1077 slots\\), with 12 keys`),
      );
      assert.ok(
        other.preconditions.some((p) => p.includes(`override ${claimant.addr}`)),
        other.preconditions.join('\n'),
      );
    });

    it("the repair keeps the claimant's keys", async () => {
      const c = cluster();
      const target = { ...clusterConfigOf(c), spareNodes: [] };
      const plan = (await diagnosisOf(target)).fixes.find((p) => p.action === 'ASSIGN_UNCOVERED_SLOTS')!;
      assertRepaired(await run(target, plan.id));
      await assertOkEverywhere(c);
      for (const key of keys) assert.equal(await c.client(claimant).call('GET', key), 'v');
    });
  });
});

function toMap(fields: unknown[]): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(String(fields[i]), fields[i + 1]);
  return map;
}
