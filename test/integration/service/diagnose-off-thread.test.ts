// `start` runs a /redis-diagnose job's cluster work on the monitor's probe thread, like its polls
// (issue 15: a big cluster's diagnosis must not hold up the loop that acks Slack). The whole
// service (startService) on a real cluster and the real queue Redis.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { parseConfig } from '../../../src/config/load';
import type { PlannedReport } from '../../../src/repair/types';
import { startService } from '../../../src/service';
import { testLogger, useHarness } from '../../helpers/harness';
import { countConnectsFromThisThread } from '../../helpers/thread-connects';

describe('start: diagnose jobs on the probe thread', function () {
  this.timeout(60_000);
  const h = useHarness({ cluster: { masters: 3 } });
  afterEach(() => sinon.restore());

  it("a diagnose job's report comes back, and the service's own thread opened no connection to any node", async () => {
    const c = h.cluster();
    const config = parseConfig({
      clusters: [{ name: 'shop', seeds: c.seeds }],
      queue: { prefix: h.prefix, redisUrl: 'redis://127.0.0.1:6379' },
      monitor: { enabled: false },
      approvalSecret: 'test-approval-secret',
    });
    const service = h.track(await startService(config, { logger: testLogger(), port: 0 }));
    await service.system.whenReady(10_000);
    const connectsHere = countConnectsFromThisThread(c.nodes.map((n) => n.port));
    const jobId = await service.system.enqueuer.enqueueDiagnosis({ cluster: 'shop', origin: { kind: 'cli' } });
    const done = await service.system.waitForJob<PlannedReport>('diagnose', jobId, 30_000);
    assert.equal(done.state, 'completed', done.error);
    assert.equal(done.result?.verdict, 'ok');
    assert.equal(done.result?.nodes.length, 3);
    assert.equal(connectsHere(), 0, "the service's own thread connected to cluster nodes");
  });
});
