// Issue 11 §1 on real clusters: a node announcing the address of an unrelated Redis made the bot
// log in there with the cluster password and offer a MEET that turned the unrelated node into a
// replica (dropping its data). Now: the configured scope decides where collection and repairs
// go; another node answering at a listed address is not that node; and the report says so.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { parseConfig } from '../../../src/config/load';
import type { ClusterConfig } from '../../../src/config/schema';
import { trackProcess } from '../../../src/devtools/processes';
import type { DiagnosisReport } from '../../../src/diagnosis/types';
import { diagnoseCluster } from '../../../src/engine';
import { clusterScope } from '../../../src/cluster/scope';
import { executePlan } from '../../../src/repair/executor';
import { NodeLinks } from '../../../src/repair/node-links';
import { eventually, freePort, parseInfo, useCluster, type TestCluster, type TestNode } from '../../helpers/cluster';
import { nodeId, startFakeNode } from '../../helpers/fake-node';
import { config, planOf, useQueueRedis } from '../repair/support';

const PASSWORD = 'the-cluster-password';

/** A single-node cluster that owns all 16384 slots: someone else's Redis, with the same password. */
interface UnrelatedRedis {
  addr: string;
  port: number;
  client: Redis;
  id: string;
  connectionsReceived(): Promise<number>;
  stop(): Promise<void>;
}

async function startUnrelatedRedis(host: string): Promise<UnrelatedRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redis-medic-unrelated-'));
  const [port, busPort] = [await freePort(), await freePort()];
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      host,
      '--cluster-enabled',
      'yes',
      '--cluster-port',
      String(busPort),
      '--cluster-config-file',
      'nodes.conf',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      PASSWORD,
    ],
    { stdio: 'ignore' },
  );
  trackProcess(child);
  const client = new Redis({ host, port, password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  await eventually(
    async () => {
      try {
        if (client.status !== 'ready') await client.connect();
        return (await client.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    { timeoutMs: 10000, what: `the unrelated redis-server on ${host}:${port}` },
  );
  await client.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  const id = String(await client.call('CLUSTER', 'MYID'));
  return {
    addr: `${host}:${port}`,
    port,
    client,
    id,
    // Client connections only: our own is kept open, so any change is somebody else.
    connectionsReceived: async () => Number(parseInfo(String(await client.call('INFO', 'stats')))['total_connections_received']),
    stop: async () => {
      client.disconnect();
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Make `node` announce `host:port` as its address, and wait until `observer` lists it there. */
async function announceAs(c: TestCluster, node: TestNode, observer: TestNode, host: string, port: number): Promise<void> {
  const client = c.client(node);
  await client.call('CONFIG', 'SET', 'cluster-announce-ip', host);
  await client.call('CONFIG', 'SET', 'cluster-announce-port', String(port));
  await eventually(async () => (await c.clusterNodes(observer)).some((l) => l.id === node.id && l.addr === `${host}:${port}`), {
    timeoutMs: 10000,
    what: `${observer.addr} to list ${node.id.slice(0, 8)} at ${host}:${port}`,
  });
}

function codes(report: DiagnosisReport): string {
  return report.findings.map((f) => f.code).join(', ');
}

describe("the cluster's own answers do not widen the scope (real clusters)", function () {
  this.timeout(60000);
  const cluster = useCluster({ masters: 3, password: PASSWORD });
  const unrelated: UnrelatedRedis[] = [];
  after(async () => {
    await Promise.all(unrelated.map((u) => u.stop()));
  });

  const clusterOf = (c: TestCluster, extra: Partial<ClusterConfig> = {}): ClusterConfig =>
    // One seed only: the announcing node is found, as in the report, through what the others list.
    ({ name: 'scope-live', seeds: [c.masters()[0]!.addr], password: PASSWORD, tls: false, spareNodes: [], ...extra });

  it('a node announcing an unrelated Redis on another address: no connection nor AUTH there, no plan towards it, the listing reported', async () => {
    const c = cluster();
    const [m0, , x] = c.masters();
    // The unrelated Redis lives at 127.0.0.2, outside the default scope of a 127.0.0.1 seed. The
    // announcing node listens there too, so that the cluster bus keeps working through the trick.
    const other = await startUnrelatedRedis('127.0.0.2');
    unrelated.push(other);
    await c.client(x!).call('CONFIG', 'SET', 'bind', '127.0.0.1 127.0.0.2');
    await announceAs(c, x!, m0!, '127.0.0.2', other.port);

    const before = await other.connectionsReceived();
    const { report } = await diagnoseCluster(clusterOf(c), config);
    assert.equal((await other.connectionsReceived()) - before, 0, `redis-medic connected to the unrelated Redis at ${other.addr}`);
    const finding = report.findings.find((f) => f.code === 'NODE_OUT_OF_SCOPE');
    assert.ok(finding, codes(report));
    assert.ok(
      finding.evidence.some((e) => e.startsWith(`[${m0!.addr}] ${x!.id} ${other.addr}@`)),
      finding.evidence.join('\n'),
    );
    assert.deepEqual(finding.nodes, [x!.id]);
    // The advice names the exact line that would let redis-medic ask it (issue 11).
    assert.ok(finding.detail.includes(`allowedNetworks: ["127.0.0.1", "${other.addr}"]`), finding.detail);
    assert.ok(
      !JSON.stringify(report.fixes).includes('127.0.0.2'),
      `a plan goes to 127.0.0.2: ${report.fixes.map((p) => p.title).join('; ')}`,
    );
    assert.equal(String(await other.client.call('CLUSTER', 'INFO')).match(/cluster_slots_assigned:(\d+)/)![1], '16384');
  });

  it('a node announcing the queue Redis address: never connected to nor sent AUTH, reported as the queue Redis, no plan towards it (issue 11)', async () => {
    const c = cluster();
    const [m0, , x] = c.masters();
    // The queue Redis of this configuration is a trap on the seed's own loopback host, where the
    // default scope (the seed's host, any port) would otherwise send it the cluster password.
    const queueTrap = await startFakeNode({ host: '127.0.0.1' });
    try {
      const configured = parseConfig({
        queue: { redisUrl: `redis://127.0.0.1:${queueTrap.port}` },
        timeouts: { connectMs: 500, commandMs: 1000 },
        clusters: [{ name: 'queue-trap', seeds: [m0!.addr], password: PASSWORD }],
      });
      await announceAs(c, x!, m0!, '127.0.0.1', queueTrap.port);
      const { report } = await diagnoseCluster(configured.clusters[0]!, configured);
      assert.equal(queueTrap.connections, 0, `connected to the queue Redis address: ${JSON.stringify(queueTrap.commands)}`);
      const finding = report.findings.find((f) => f.code === 'NODE_OUT_OF_SCOPE');
      assert.ok(finding, codes(report));
      assert.match(finding.detail, new RegExp(`127\\.0\\.0\\.1:${queueTrap.port} is the queue Redis's address`));
      assert.doesNotMatch(finding.detail, /set in this cluster's configuration/, 'no allowedNetworks line can make the queue Redis a node');
      assert.ok(!JSON.stringify(report.fixes).includes(String(queueTrap.port)), report.fixes.map((p) => p.title).join('; '));
    } finally {
      await c.client(x!).call('CONFIG', 'SET', 'cluster-announce-port', '0');
      await c.client(x!).call('CONFIG', 'SET', 'cluster-announce-ip', '');
      await queueTrap.close();
    }
  });

  it("a fake in-scope node vouching for an unrelated Redis (its real id, in its own listing): one node's word is data, so the unrelated node is reported, not made a member, and no plan goes there (issue 11)", async () => {
    const c = cluster();
    const [m0] = c.masters();
    const other = await startUnrelatedRedis('127.0.0.1');
    unrelated.push(other);
    const busOf = (addr: string): number => Number(addr.slice(addr.lastIndexOf(':') + 1)) + 10000;
    // A fake node in scope (a configured seed) lists the unrelated Redis with its real id as a
    // connected master owning every slot; the unrelated Redis knows nobody of this cluster.
    const fakePort = await freePort();
    const fakeAddr = `127.0.0.1:${fakePort}`;
    const lines = [
      `${nodeId(0xfa4e)} ${fakeAddr}@${busOf(fakeAddr)} myself,master - 0 0 0 connected`,
      `${m0!.id} ${m0!.addr}@${busOf(m0!.addr)} master - 0 0 1 connected`,
      `${other.id} ${other.addr}@${busOf(other.addr)} master - 0 0 99 connected 0-16383`,
    ];
    const vouching = await startFakeNode({ host: '127.0.0.1', port: fakePort, clusterNodes: `${lines.join('\n')}\n` });
    try {
      const before = await other.connectionsReceived();
      const { report } = await diagnoseCluster(clusterOf(c, { seeds: [m0!.addr, vouching.addr] }), config);
      assert.ok((await other.connectionsReceived()) > before, 'the unrelated Redis (in scope) was asked, as the test intends');
      const member = report.nodes.find((n) => n.id === other.id);
      assert.ok(
        !member?.slots.length || member.health !== 'up' || member.reachable !== true,
        `the unrelated node became a live member: ${JSON.stringify(member)}`,
      );
      assert.ok(
        !report.fixes.some((p) => JSON.stringify(p.steps).includes(String(other.port))),
        `a plan goes to the unrelated node: ${report.fixes.map((p) => `${p.title} ${JSON.stringify(p.steps)}`).join('; ')}`,
      );
      const finding = report.findings.find((f) => f.code === 'NODE_NOT_CONFIRMED');
      assert.ok(finding, codes(report));
      assert.ok(
        finding.detail.includes(`${other.id.slice(0, 8)} answers at ${other.addr}, listed there only by ${vouching.addr}`),
        finding.detail,
      );
      assert.equal(String(await other.client.call('CLUSTER', 'INFO')).match(/cluster_slots_assigned:(\d+)/)![1], '16384');
    } finally {
      await vouching.close();
    }
  });

  it('the same trick inside the scope: the unrelated node answers with another id, so it is reported, not trusted, and no MEET is offered', async () => {
    const c = cluster();
    const [m0, , x] = c.masters();
    const other = await startUnrelatedRedis('127.0.0.1');
    unrelated.push(other);
    await announceAs(c, x!, m0!, '127.0.0.1', other.port);

    // The default scope of a 127.0.0.1 seed is 127.0.0.1, any port: the address is asked.
    const { report } = await diagnoseCluster(clusterOf(c), config);
    const mismatch = report.findings.find((f) => f.code === 'NODE_ID_MISMATCH');
    assert.ok(mismatch, codes(report));
    assert.deepEqual(mismatch.nodes, [x!.id]);
    assert.match(
      mismatch.detail,
      new RegExp(`at ${other.addr} the cluster lists ${other.addr} \\(${x!.id.slice(0, 8)}\\), but ${other.id.slice(0, 8)} answers there`),
    );
    assert.ok(!report.nodes.some((n) => n.id === other.id), 'the unrelated node is not made a node of this cluster');
    assert.ok(!report.fixes.some((p) => p.action === 'MEET_NODES'), `plans: ${report.fixes.map((p) => p.title).join('; ')}`);

    // With the cluster's ports as its allowedNetworks, the unrelated port is not even connected to.
    const before = await other.connectionsReceived();
    const narrow = await diagnoseCluster(clusterOf(c, { allowedNetworks: c.nodes.map((n) => `127.0.0.1:${n.port}`) }), config);
    assert.equal((await other.connectionsReceived()) - before, 0, 'connected to a port outside allowedNetworks');
    assert.ok(
      narrow.report.findings.some((f) => f.code === 'NODE_OUT_OF_SCOPE'),
      codes(narrow.report),
    );
  });
});

describe('repairs stay inside the configured scope (real cluster)', function () {
  this.timeout(60000);
  const cluster = useCluster({ masters: 3 });
  const queue = useQueueRedis();

  it('a MEET plan towards a node outside the configured scope is refused, and nothing connects to that node', async () => {
    const c = cluster();
    const [m0, m1, m2] = c.masters();
    // A split view (each forgets the other for Redis's 60 s ban): the diagnosis offers a MEET.
    await c.client(m0!).call('CLUSTER', 'FORGET', m2!.id);
    await c.client(m2!).call('CLUSTER', 'FORGET', m0!.id);
    const wide: ClusterConfig = { name: `scope-${queue.prefix.slice(-8)}`, seeds: [m0!.addr], tls: false, spareNodes: [] };
    const meet = planOf((await diagnoseCluster(wide, config)).report, 'MEET_NODES');
    assert.ok(JSON.stringify(meet.steps).includes(String(m2!.port)), JSON.stringify(meet.steps));

    // The operator's config says the cluster lives on m0's and m1's ports only: m2 is outside.
    const narrow: ClusterConfig = { ...wide, allowedNetworks: [`127.0.0.1:${m0!.port}`, `127.0.0.1:${m1!.port}`] };
    const m2Stats = async (): Promise<number> =>
      Number(parseInfo(String(await c.client(m2!).call('INFO', 'stats')))['total_connections_received']);
    const before = await m2Stats();
    const result = await executePlan({
      cluster: narrow,
      config,
      planId: meet.id,
      lockRedis: queue.redis(),
      lockPrefix: queue.prefix,
      actor: 'U0TEST',
    });
    assert.equal(result.status, 'refused', `${result.status}: ${result.reason ?? ''}`);
    assert.match(result.reason!, /outside the allowed networks/);
    assert.equal((await m2Stats()) - before, 0, `the executor connected to ${m2!.addr}, outside the configured scope`);
    assert.ok(!(await c.clusterNodes(m0!)).some((l) => l.id === m2!.id), `${m0!.addr} was made to meet ${m2!.addr}`);
  });
});

describe('repair connections stay inside the configured scope', () => {
  it('NodeLinks (steps, checks, verification polls) never connects outside it, even when asked to', async () => {
    const trap = await startFakeNode({ host: '127.0.0.5' });
    const links = new NodeLinks({ password: PASSWORD }, 300, clusterScope({ seeds: ['127.0.0.1:7000'] }));
    try {
      await assert.rejects(
        links.call(trap.addr, ['CLUSTER', 'INFO'], 500),
        /127\.0\.0\.5:\d+ is outside the addresses allowed for this cluster \(127\.0\.0\.1 \(the default.*not connected/,
      );
      assert.equal(trap.connections, 0);
    } finally {
      links.close();
      await trap.close();
    }
  });
});

describe('bus ports stay inside the scope too (real cluster, issue 11)', function () {
  this.timeout(60000);
  const cluster = useCluster({ masters: 3 });

  it('a node announcing the queue Redis port as its bus port: no connection there, and no MEET hands that bus port out', async () => {
    const c = cluster();
    const [m0, m1, m2] = c.masters();
    const queueTrap = await startFakeNode({ host: '127.0.0.1' });
    try {
      const configured = parseConfig({
        queue: { redisUrl: `redis://127.0.0.1:${queueTrap.port}` },
        timeouts: { connectMs: 500, commandMs: 1000 },
        clusters: [{ name: 'bus-trap', seeds: [m0!.addr, m1!.addr] }],
      });
      await c.client(m2!).call('CONFIG', 'SET', 'cluster-announce-bus-port', String(queueTrap.port));
      // Its own line says so at once (what the model believes about a node itself).
      await eventually(async () => (await c.clusterNodes(m2!)).some((l) => l.id === m2!.id && l.raw.includes(`@${queueTrap.port}`)), {
        timeoutMs: 10000,
        what: `${m2!.addr} to announce bus port ${queueTrap.port}`,
      });
      // A split view: m0 and m2 forget each other, so a MEET between them is what would fix it.
      await c.client(m0!).call('CLUSTER', 'FORGET', m2!.id);
      await c.client(m2!).call('CLUSTER', 'FORGET', m0!.id);
      const { report } = await diagnoseCluster(configured.clusters[0]!, configured);
      assert.ok(
        report.findings.some((f) => f.code === 'NODES_DISAGREE'),
        codes(report),
      );
      assert.ok(
        !JSON.stringify(report.fixes.map((p) => p.steps)).includes(String(queueTrap.port)),
        `a plan hands out the queue Redis port: ${JSON.stringify(report.fixes.map((p) => p.steps))}`,
      );
      assert.equal(queueTrap.connections, 0, 'the bus-port check connected to the queue Redis address');
    } finally {
      await queueTrap.close();
    }
  });
});
