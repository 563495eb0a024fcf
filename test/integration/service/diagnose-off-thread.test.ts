// `start` runs a /redis-diagnose job's cluster work on the monitor's probe thread, like its polls,
// and so do a repair job's diagnoses (the re-check before the steps and the report after them):
// issue 15, a big cluster's diagnosis must not hold up the loop that acks Slack. The whole
// service (startService) on a real cluster and the real queue Redis.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { parseConfig } from '../../../src/config/load';
import type { PlannedReport } from '../../../src/repair/types';
import type { RepairResult } from '../../../src/repair/types';
import { startService } from '../../../src/service';
import { approvedRepair } from '../jobs/support';
import { testLogger, useHarness } from '../../helpers/harness';
import { countConnectsFromThisThread } from '../../helpers/thread-connects';

describe('start: diagnose jobs on the probe thread', function () {
  this.timeout(60_000);
  const h = useHarness({ cluster: { masters: 3 }, healCluster: true });
  afterEach(() => sinon.restore());
  const serviceConfig = () =>
    parseConfig({
      clusters: [{ name: 'shop', seeds: h.cluster().seeds }],
      queue: { prefix: h.prefix, redisUrl: 'redis://127.0.0.1:6379' },
      monitor: { enabled: false },
      approvalSecret: 'test-approval-secret',
    });

  it("a diagnose job's report comes back, and the service's own thread opened no connection to any node", async () => {
    const c = h.cluster();
    const config = serviceConfig();
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

  it("a repair job's diagnoses (before and after its steps) run there too: the service's own thread connects to no bus port", async () => {
    const c = h.cluster();
    // The owner drops slots 0-9: it says fail; the others still map them to it.
    await c.delSlotsRange(c.masters()[0]!, 0, 9);
    const config = serviceConfig();
    const service = h.track(await startService(config, { logger: testLogger(), port: 0 }));
    await service.system.whenReady(10_000);
    const diagnosis = await service.system.waitForJob<PlannedReport>(
      'diagnose',
      await service.system.enqueuer.enqueueDiagnosis({ cluster: 'shop', origin: { kind: 'cli', user: 'tester' } }),
      30_000,
    );
    const plan = diagnosis.result?.fixes.find((f) => f.action === 'ASSIGN_UNCOVERED_SLOTS' && f.executable);
    assert.ok(plan, `an executable plan, got ${JSON.stringify(diagnosis.result?.fixes.map((f) => [f.action, f.executable]))}`);
    // Only a diagnosis checks cluster bus ports (the steps and their verification use the data
    // ports, on this thread): a connect to one from here is a diagnosis run here.
    const busConnectsHere = countConnectsFromThisThread(c.nodes.map((n) => n.busPort));
    const data = await approvedRepair(config, {
      cluster: 'shop',
      planId: plan.id,
      approvalId: 'approval-off-thread',
      approvedBy: 'U0APPROVER',
      origin: { kind: 'cli', user: 'tester' },
    });
    const { jobId } = await service.system.enqueuer.enqueueRepair(data);
    const done = await service.system.waitForJob<RepairResult>('repair', jobId, 45_000);
    assert.equal(done.result?.status, 'repaired', JSON.stringify(done.result, null, 2));
    assert.equal(done.result?.finalReport?.verdict, 'ok', 'the report after the repair came back');
    assert.equal(busConnectsHere(), 0, "a repair's diagnosis ran on the service's own thread");
  });
});
