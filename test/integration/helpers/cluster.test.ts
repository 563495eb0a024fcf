// Exercises test/helpers/cluster.ts against real redis-server processes: the helper is
// what every outage test stands on, so its notion of "ok", "fail", "fail?" must be right.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import {
  eventually,
  freePort,
  parseInfo,
  spawnCluster,
  useCluster,
  type ClusterNodeLine,
  type TestCluster,
  type TestNode,
} from '../../helpers/cluster';

function first<T>(items: T[], what: string): T {
  const item = items[0];
  if (item === undefined) throw new Error(`expected at least one ${what}`);
  return item;
}

function lineOf(lines: ClusterNodeLine[], id: string): ClusterNodeLine {
  const line = lines.find((l) => l.id === id);
  if (!line) throw new Error(`node ${id} missing from CLUSTER NODES:\n${lines.map((l) => l.raw).join('\n')}`);
  return line;
}

function myselfLine(lines: ClusterNodeLine[]): ClusterNodeLine {
  const line = lines.find((l) => l.flags.includes('myself'));
  if (!line) throw new Error('no myself line in CLUSTER NODES');
  return line;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Asserts `check` stays true for the whole window (a negative cannot be polled for). */
async function holdsFor(ms: number, check: () => Promise<void>): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await check();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('test helper: real redis cluster', function () {
  this.timeout(30_000);

  it('freePort hands out distinct, bindable loopback ports', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    assert.equal(new Set(ports).size, ports.length);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(first(ports, 'port'), '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });

  // These three tests share one cluster: they only add state (an open slot, a dead
  // slot-less ghost) that never changes cluster_state.
  describe('3 masters + 1 spare', () => {
    const cluster = useCluster({ masters: 3, spares: 1 });

    it('is ok, with slots split like redis-cli and the spare left out', async () => {
      const c = cluster();
      await c.waitUntilOk({ timeoutMs: 1000 });
      assert.deepEqual(
        c.masters().map((m) => m.slots),
        [[[0, 5460]], [[5461, 10922]], [[10923, 16383]]],
      );
      assert.deepEqual(
        c.nodes.map((n) => n.role),
        ['master', 'master', 'master', 'spare'],
      );
      assert.deepEqual(
        c.seeds,
        c.masters().map((m) => m.addr),
      );
      for (const master of c.masters()) {
        const info = await c.clusterInfo(master);
        assert.equal(info['cluster_state'], 'ok');
        assert.equal(info['cluster_known_nodes'], '3');
        const self = myselfLine(await c.clusterNodes(master));
        assert.equal(self.id, master.id);
        assert.deepEqual(
          self.slots,
          master.slots.map(([a, b]) => `${a}-${b}`),
        );
        assert.notEqual(master.busPort, master.port + 10000);
      }
      const spare = first(c.spares(), 'spare');
      assert.equal((await c.clusterInfo(spare))['cluster_known_nodes'], '1');
      assert.equal(await c.client(spare).call('CLUSTER', 'MYID'), spare.id);
    });

    it('openSlot marks the slot migrating on the source and importing on the target', async () => {
      const c = cluster();
      const [source, target] = c.masters();
      assert.ok(source && target);
      await c.openSlot(100, source, target);
      assert.ok(myselfLine(await c.clusterNodes(source)).slots.includes(`[100->-${target.id}]`));
      assert.ok(myselfLine(await c.clusterNodes(target)).slots.includes(`[100-<-${source.id}]`));
    });

    it('makeGhost leaves a dead slot-less master flagged fail everywhere, cluster still ok', async () => {
      const c = cluster();
      const ghost = await c.makeGhost();
      assert.ok(!c.nodes.some((n) => n.id === ghost.id), 'the ghost is not a cluster node');
      for (const master of c.masters()) {
        const line = lineOf(await c.clusterNodes(master), ghost.id);
        assert.deepEqual(line.flags, ['master', 'fail']);
        assert.deepEqual(line.slots, []);
        assert.equal(line.addr, ghost.addr);
      }
      await c.waitUntilOk({ timeoutMs: 1000 });
    });
  });

  describe('3 masters + 3 replicas (with password)', () => {
    const cluster = useCluster({ masters: 3, replicasPerMaster: 1, password: 's3cret' });

    it('is ok and every node sees the intended roles', async () => {
      const c = cluster();
      await c.waitUntilOk({ timeoutMs: 1000 });
      assert.deepEqual(
        c.nodes.map((n) => n.role),
        ['master', 'master', 'master', 'replica', 'replica', 'replica'],
      );
      for (const master of c.masters()) {
        const replica = first(c.replicasOf(master), 'replica');
        assert.equal(replica.masterId, master.id);
        for (const viewer of c.nodes) {
          const lines = await c.clusterNodes(viewer);
          assert.equal(lines.length, 6);
          assert.ok(lineOf(lines, master.id).flags.includes('master'));
          const replicaLine = lineOf(lines, replica.id);
          assert.ok(replicaLine.flags.includes('slave'));
          assert.equal(replicaLine.masterId, master.id);
        }
        const repl = parseInfo(String(await c.client(replica).call('INFO', 'replication')));
        assert.equal(repl['master_link_status'], 'up');
        assert.equal(repl['master_port'], String(master.port));
      }
    });

    it('restart brings a killed replica back with the same id and a working link', async () => {
      const c = cluster();
      const replica = first(c.replicas(), 'replica');
      const oldPid = replica.pid;
      await c.kill(replica);
      assert.equal(replica.alive, false);
      await c.waitUntilFlagged(replica, 'fail');
      await c.restart(replica);
      assert.equal(replica.alive, true);
      assert.notEqual(replica.pid, oldPid);
      assert.equal(await c.client(replica).call('CLUSTER', 'MYID'), replica.id);
      await c.waitForNodes(
        (views) =>
          [...views.values()].every((lines) => {
            const line = lines.find((l) => l.id === replica.id);
            return line !== undefined && !line.flags.some((f) => f.startsWith('fail')) && line.masterId === replica.masterId;
          }),
        { what: 'the restarted replica to be seen healthy everywhere' },
      );
      await eventually(
        async () => {
          const repl = parseInfo(String(await c.client(replica).call('INFO', 'replication')));
          return repl['master_link_status'] === 'up';
        },
        { what: 'the restarted replica to resync' },
      );
      await c.waitUntilOk();
    });
  });

  describe('a master without replicas is killed', () => {
    let c: TestCluster | undefined;
    after(async () => c?.teardown());

    it('the cluster goes fail and flags the dead master fail; teardown cleans up', async () => {
      c = await spawnCluster({ masters: 3 });
      const victim = first(c.masters(), 'master');
      await c.kill(victim);
      assert.equal(victim.alive, false);
      await c.waitUntilFail();
      await c.waitUntilFlagged(victim, 'fail');

      const pids = c.nodes.map((n) => n.pid);
      await c.teardown();
      await c.teardown(); // idempotent
      assert.deepEqual(pids.filter(isRunning), []);
      assert.equal(existsSync(c.rootDir), false);
    });
  });

  describe('freeze / thaw', () => {
    const cluster = useCluster({ masters: 3 });

    it('a frozen master is flagged fail by the others, and the cluster recovers on thaw', async () => {
      const c = cluster();
      const victim = first(c.masters(), 'master');
      c.freeze(victim);
      assert.equal(victim.frozen, true);
      await c.waitUntilFlagged(victim, 'fail');
      await c.waitUntilFail(); // the frozen node itself is not polled
      c.thaw(victim);
      assert.equal(victim.frozen, false);
      // Redis only clears FAIL on a slot-owning master 2 × node-timeout after it was set.
      await c.waitUntilOk();
      for (const other of c.masters().slice(1)) {
        assert.deepEqual(lineOf(await c.clusterNodes(other), victim.id).flags, ['master']);
      }
    });
  });

  describe('delSlotsRange', () => {
    const cluster = useCluster({ masters: 3 });

    it('makes that node alone report fail; the others keep their old view', async () => {
      const c = cluster();
      const [victim, ...others] = c.masters();
      assert.ok(victim);
      await c.delSlotsRange(victim, 0, 5460);
      await c.waitFor(
        (infos) => {
          const info = parseInfo(infos.get(victim.addr) ?? '');
          return info['cluster_state'] === 'fail' && info['cluster_slots_assigned'] === '10923';
        },
        { what: `${victim.addr} to lose slots 0-5460` },
      );
      // Redis 7.0 never propagates "I no longer own these": gossip only claims slots.
      for (const other of others) {
        assert.equal((await c.clusterInfo(other))['cluster_state'], 'ok');
        assert.deepEqual(lineOf(await c.clusterNodes(other), victim.id).slots, ['0-5460']);
      }
    });
  });

  describe('slots [[0, 15999]]', () => {
    const cluster = useCluster({ masters: 3, slots: [[0, 15999]] });

    it('leaves 16000-16383 unassigned, so every node says fail with 16000 assigned', async () => {
      const c = cluster();
      assert.deepEqual(
        c.masters().map((m) => m.slots),
        [[[0, 5332]], [[5333, 10666]], [[10667, 15999]]],
      );
      await c.waitFor(
        (infos) =>
          infos.size === 3 &&
          [...infos.values()].every((text) => {
            const info = parseInfo(text);
            return info['cluster_state'] === 'fail' && info['cluster_slots_assigned'] === '16000';
          }),
        { what: 'fail with 16000 slots assigned', timeoutMs: 5000 },
      );
    });
  });

  describe('killMasters(2) on 3 masters + 3 replicas', () => {
    const cluster = useCluster({ masters: 3, replicasPerMaster: 1 });

    it('survivors flag both dead masters fail? and never fail (no majority)', async () => {
      const c = cluster();
      const dead = await c.killMasters(2);
      assert.deepEqual(dead, c.masters().slice(0, 2));
      for (const node of dead) await c.waitUntilFlagged(node, 'fail?');
      const survivors = c.nodes.filter((n: TestNode) => n.alive);
      assert.equal(survivors.length, 4);
      // Failure detection needs a majority of masters (2 of 3); only one is left.
      await holdsFor(3 * c.nodeTimeoutMs, async () => {
        for (const survivor of survivors) {
          const lines = await c.clusterNodes(survivor);
          for (const node of dead) assert.deepEqual(lineOf(lines, node.id).flags, ['master', 'fail?']);
        }
      });
    });
  });
});
