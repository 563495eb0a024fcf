// The whole `start` service (startService) on a real cluster, the real queue Redis and the fake
// Slack: /metrics on the internal port is scraped before, during and after a real incident.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseConfig } from '../../../src/config/load';
import { startService } from '../../../src/service';
import { testLogger, useHarness } from '../../helpers/harness';

const CLUSTER = 'shop';

/** `name{a="x",b="y"} 3` lines → value of the sample whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

describe('metrics worth alerting on (/metrics scraped around a real incident)', function () {
  this.timeout(90_000);
  const h = useHarness({ cluster: { masters: 3, nodeTimeoutMs: 1000 }, fakeSlack: true });

  it('cluster state, uncovered slots, open incidents, diagnoses, time to detect and to resolve, Slack errors, process metrics, build_info', async () => {
    const c = h.cluster();
    const config = parseConfig({
      clusters: [{ name: CLUSTER, seeds: c.seeds, channel: 'C0SHOP' }],
      timeouts: { connectMs: 300, commandMs: 800 },
      queue: { prefix: h.prefix, redisUrl: 'redis://127.0.0.1:6379' },
      monitor: { intervalMs: 500, resolveAfterPolls: 2 },
      slack: { botToken: 'test-bot-token', apiUrl: h.fake.apiUrl, signingSecret: 'metrics-test-signing-secret' },
      approvalSecret: 'test-approval-secret',
      http: { internalPort: 0 },
    });
    const service = h.track(await startService(config, { logger: testLogger(), port: 0 }));
    assert.notEqual(service.internalUrl, service.url, 'metrics are on the internal port');
    const scrape = async (): Promise<string> => {
      const res = await fetch(`${service.internalUrl}/metrics`);
      assert.equal(res.status, 200);
      return res.text();
    };

    // Healthy first: the time to detect is measured from the last healthy poll.
    await untilPasses(
      async () => assert.equal(sample(await scrape(), 'redis_medic_cluster_state', { cluster: CLUSTER, state: 'ok' }), 1),
      20_000,
    );
    let text = await scrape();
    assert.equal(sample(text, 'redis_medic_incidents_open', { cluster: CLUSTER }), 0);
    assert.equal(sample(text, 'redis_medic_cluster_uncovered_slots', { cluster: CLUSTER }), 0);
    assert.equal(sample(text, 'redis_medic_build_info', { version: '0.1.0' }), 1);
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0, 'default process metrics');
    assert.ok(sample(text, 'nodejs_eventloop_lag_seconds') !== undefined);

    // The first root message fails in Slack: counted, and the next poll posts it.
    h.fake.failNext('chat.postMessage', 'ratelimited');
    await c.kill(c.masters()[2]!);
    await untilPasses(async () => assert.equal(sample(await scrape(), 'redis_medic_incidents_open', { cluster: CLUSTER }), 1), 20_000);
    await untilPasses(
      async () => assert.equal(sample(await scrape(), 'redis_medic_cluster_state', { cluster: CLUSTER, state: 'down' }), 1),
      20_000,
    );
    // The poll that opened the incident is observed once its thread is delivered (the root post is
    // rate limited first, and waited out), which can be after a later poll saw the incident open.
    await untilPasses(
      async () => assert.equal(sample(await scrape(), 'redis_medic_incident_detection_seconds_count', { cluster: CLUSTER }), 1),
      20_000,
    );
    text = await scrape();
    assert.equal(sample(text, 'redis_medic_cluster_state', { cluster: CLUSTER, state: 'ok' }), 0);
    assert.equal(sample(text, 'redis_medic_cluster_uncovered_slots', { cluster: CLUSTER }), 5461);
    assert.ok((sample(text, 'redis_medic_diagnoses_total', { verdict: 'down' }) ?? 0) >= 1);
    assert.equal(sample(text, 'redis_medic_incident_detection_seconds_count', { cluster: CLUSTER }), 1);
    const detected = sample(text, 'redis_medic_incident_detection_seconds_sum', { cluster: CLUSTER })!;
    assert.ok(detected > 0 && detected < 30, `time to detect ${detected} s`);
    await untilPasses(
      async () =>
        assert.equal(sample(await scrape(), 'redis_medic_slack_api_errors_total', { method: 'chat.postMessage', error: 'ratelimited' }), 1),
      10_000,
    );

    // The node comes back: the incident resolves by itself and its duration is observed once.
    await c.restart(c.masters()[2]!);
    await untilPasses(async () => assert.equal(sample(await scrape(), 'redis_medic_incidents_open', { cluster: CLUSTER }), 0), 30_000);
    text = await scrape();
    assert.equal(sample(text, 'redis_medic_incident_resolution_seconds_count', { cluster: CLUSTER }), 1);
    assert.ok(sample(text, 'redis_medic_incident_resolution_seconds_sum', { cluster: CLUSTER })! > 0);
    assert.equal(sample(text, 'redis_medic_cluster_state', { cluster: CLUSTER, state: 'ok' }), 1);
    assert.equal(sample(text, 'redis_medic_cluster_uncovered_slots', { cluster: CLUSTER }), 0);

    // The shipped alert rules only name metrics that exist.
    const rules = YAML.parse(fs.readFileSync(path.join(__dirname, '../../../deploy/prometheus/redis-medic-rules.yml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
    };
    const exposed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      for (const [name] of rule.expr.matchAll(/redis_medic_[a-z_]+/g)) {
        assert.ok(exposed.has(name.replace(/_(bucket|count|sum)$/, '')), `${rule.alert} uses ${name}, which /metrics does not expose`);
      }
    }
  });
});

/** Retries an assertion until it passes (the monitor polls every 500 ms), else throws its last failure. */
async function untilPasses(check: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
