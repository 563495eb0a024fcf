// The monitor's per-node history reaches the plans: after a master with keys dies, the plan
// that gives its slots away says how many keys were on it and when they were counted.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { parseConfig } from '../../../src/config/load';
import { diagnoseCluster } from '../../../src/engine';
import { createClusterMonitor } from '../../../src/incidents/monitor';
import { diagnoseOnProbeThread } from '../../../src/incidents/probe-thread';
import { lastKnownKeysLookup } from '../../../src/incidents/store';
import { silentLogger } from '../../../src/logging/logger';
import { useCluster } from '../../helpers/cluster';
import { deleteQueueKeys, QUEUE_REDIS_URL } from '../../helpers/queue-redis';
import { testPrefix } from './harness';

describe('incidents: last known key counts in repair plans', function () {
  this.timeout(60_000);
  const cluster = useCluster({ masters: 3 });
  const prefix = testPrefix();
  let redis: Redis;
  before(() => {
    redis = new Redis(QUEUE_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    await deleteQueueKeys(prefix, redis);
    redis.disconnect();
  });

  it('"about 120 keys were on <dead master> at <time>" in the plan that reassigns its slots', async () => {
    const c = cluster();
    const victim = c.masters()[2]!;
    const client = c.client(victim);
    // A hash tag whose slot the victim owns, so every key lands on it.
    let tag = 0;
    while (Number(await client.call('CLUSTER', 'KEYSLOT', `{t${tag}}`)) < 10923) tag++;
    for (let i = 0; i < 120; i++) await client.set(`{t${tag}}:${i}`, 'v');

    const config = parseConfig({
      clusters: [{ name: 'shop', seeds: c.seeds }],
      queue: { prefix, redisUrl: QUEUE_REDIS_URL },
      monitor: { intervalMs: 500 },
    });
    const monitor = createClusterMonitor({ config, logger: silentLogger, redis });
    await monitor.poll({ cluster: 'shop', reason: 'schedule' });

    await c.kill(victim);
    await c.waitUntilFail();
    const lastKnown = lastKnownKeysLookup(redis, prefix, 'shop');
    const { report } = await diagnoseCluster(config.clusters[0]!, config, {}, { lastKnown });
    // The monitor diagnoses on its probe thread, which asks the monitor's thread for the history.
    const onThread = await diagnoseOnProbeThread({ cluster: config.clusters[0]!, config, seeds: c.seeds }, lastKnown, silentLogger);
    for (const { fixes } of [report, onThread.report]) {
      const assign = fixes.find((p) => p.action === 'ASSIGN_UNCOVERED_SLOTS')!;
      assert.equal(assign.dataLoss.lastKnownKeys, 120);
      assert.match(assign.dataLoss.text, new RegExp(`about 120 keys were on ${victim.addr.replace(/\./g, '\\.')} at \\d\\d:\\d\\d UTC`));
    }
  });
});
