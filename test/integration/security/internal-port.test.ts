// Issue 11 §4: with `http.internalPort`, /metrics and /healthz are not served on the Slack port
// (which faces Slack, i.e. the internet), only on the internal one. The real service, in-process.
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load';
import { silentLogger } from '../../../src/logging/logger';
import { startService } from '../../../src/service';
import { useHarness } from '../../helpers/harness';
import { QUEUE_REDIS_URL } from '../../helpers/queue-redis';

describe('http.internalPort with the Slack app (issue 11 §4)', function () {
  this.timeout(20_000);
  const h = useHarness({ fakeSlack: true });

  it('the Slack port answers 404 for /metrics and /healthz; the internal port serves them', async () => {
    const config = parseConfig({
      queue: { redisUrl: QUEUE_REDIS_URL, prefix: h.prefix },
      slack: { botToken: 'test-bot-token', signingSecret: 'test-signing-secret', apiUrl: h.fake.apiUrl },
      approvalSecret: 'test-approval-secret',
      monitor: { enabled: false },
      http: { port: 0, internalPort: 0 },
    });
    const service = h.track(await startService(config, { logger: silentLogger, port: 0, internalPort: 0, withWorkers: false }));
    assert.notEqual(service.internalUrl, service.url);
    for (const path of ['/metrics', '/healthz']) {
      assert.equal((await fetch(`${service.url}${path}`)).status, 404, `${path} on the Slack port`);
      assert.notEqual((await fetch(`${service.internalUrl}${path}`)).status, 404, `${path} on the internal port`);
    }
  });
});
