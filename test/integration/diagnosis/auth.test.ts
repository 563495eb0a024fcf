import assert from 'node:assert/strict';
import { collectSnapshot } from '../../../src/cluster/collect-snapshot';
import { adHocCluster, diagnoseCluster } from '../../../src/engine';
import { ErrorCode, isRedisMedicError } from '../../../src/errors';
import { useCluster } from '../../helpers/cluster';

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
    assert.ok(!JSON.stringify(snapshot).includes('not-it'));
  });
});
