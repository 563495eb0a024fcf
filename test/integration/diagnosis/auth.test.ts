import assert from 'node:assert/strict';
import { collectSnapshot } from '../../../src/cluster/collect-snapshot';
import { adHocCluster, diagnoseCluster } from '../../../src/engine';
import { ErrorCode, isRedisMedicError } from '../../../src/errors';
import { clusterScope } from '../../../src/cluster/scope';
import { NodeLinks } from '../../../src/repair/node-links';
import { useCluster } from '../../helpers/cluster';
import { startFakeNode } from '../../helpers/fake-node';

describe('diagnosis of a password-protected cluster', function () {
  this.timeout(60000);
  const cluster = useCluster({ masters: 3, replicasPerMaster: 1, password: 'cl-secret' });
  const timeouts = { connectMs: 500, commandMs: 1000 };

  it('asks every node with the configured password', async () => {
    const { report } = await diagnoseCluster(adHocCluster(cluster().seeds[0]!, { password: 'cl-secret' }), { timeouts });
    assert.equal(report.verdict, 'ok');
    assert.equal(report.nodes.length, 6);
    assert.ok(report.nodes.every((n) => n.reachable));
  });

  it('without it: no seed answered, and the reason says authentication', async () => {
    await assert.rejects(diagnoseCluster(adHocCluster(cluster().seeds[0]!), { timeouts }), (err: unknown) => {
      assert.ok(isRedisMedicError(err, ErrorCode.NoSeedAnswered));
      assert.match(err.message, /authentication required \(NOAUTH\)/);
      return true;
    });
  });

  it('with a wrong one: WRONGPASS, said plainly, and the password never appears in the snapshot', async () => {
    const snapshot = await collectSnapshot({ seeds: [cluster().seeds[0]!], password: 'not-it' });
    assert.match(snapshot.probes[0]!.error!, /authentication failed \(WRONGPASS\)/);
    assert.equal(snapshot.probes[0]!.failure, 'auth-failed');
    assert.ok(!JSON.stringify(snapshot).includes('not-it'));
  });
});

// A node that answers AUTH and the next command in one packet (a real one does when they arrive
// together): the command's NOAUTH is read before ioredis reports the refused AUTH, and must not
// hide it (no CLIENT SETINFO round trip holds the first command back any more).
describe('a refused password answered together with the next command', () => {
  it('a probe and a repair link both say WRONGPASS, not NOAUTH', async () => {
    const node = await startFakeNode({ refuseAuth: true });
    const links = new NodeLinks({ password: 'not-it' }, 500, clusterScope({ seeds: [node.addr] }));
    try {
      for (let i = 0; i < 5; i++) {
        const snapshot = await collectSnapshot({ seeds: [node.addr], password: 'not-it', commandTimeoutMs: 1000 });
        assert.equal(snapshot.probes[0]!.failure, 'auth-failed', snapshot.probes[0]!.error);
        await assert.rejects(links.text(node.addr, ['CLUSTER', 'INFO'], 1000), /WRONGPASS/);
      }
    } finally {
      links.close();
      await node.close();
    }
  });
});

describe('replication broken while gossip looks healthy', function () {
  this.timeout(60000);
  const cluster = useCluster({ masters: 3, replicasPerMaster: 1, password: 'cl-secret' });

  it('names REPLICATION_BROKEN for a replica that can no longer authenticate to its master', async () => {
    const c = cluster();
    const replica = c.replicas()[0]!;
    const client = c.client(replica);
    await client.call('CONFIG', 'SET', 'masterauth', 'wrong-secret');
    // Drop its link: it reconnects with the wrong password and stays down, while the cluster
    // bus (which needs no password) keeps gossiping as if all were well.
    await client.call('CLIENT', 'KILL', 'TYPE', 'master');
    const deadline = Date.now() + 10000;
    let report: Awaited<ReturnType<typeof diagnoseCluster>>['report'];
    do {
      ({ report } = await diagnoseCluster(adHocCluster(c.seeds[0]!, { password: 'cl-secret' }), {
        timeouts: { connectMs: 500, commandMs: 1000 },
      }));
    } while (!report.findings.some((f) => f.code === 'REPLICATION_BROKEN') && Date.now() < deadline);
    const finding = report.findings.find((f) => f.code === 'REPLICATION_BROKEN');
    assert.ok(finding, report.findings.map((f) => f.code).join());
    assert.deepEqual(finding.nodes, [replica.id]);
    assert.match(finding.evidence[0]!, /master_link_status:down/);
    assert.equal(report.verdict, 'degraded');
    assert.ok(!JSON.stringify(report).includes('cl-secret'), 'no password in the report');
  });
});
