// End to end: an Alertmanager webhook over HTTP -> the real job system's monitor queue -> the
// incident monitor on a real broken cluster -> an incident thread in the fake Slack.
import assert from 'node:assert/strict';
import { alertRoutes } from '../../../src/http/alerts';
import { startRouteServer, type RouteServer } from '../../../src/http/health';
import { createJobSystem, type JobSystem } from '../../../src/jobs/system';
import type { PollOutcome } from '../../../src/incidents/monitor';
import { useCluster } from '../../helpers/cluster';
import { startFakeSlack, type FakeSlack } from '../../helpers/fake-slack';
import {
  deleteKeys,
  inThread,
  isIncidentRoot,
  monitorProcess,
  testConfig,
  testLogger,
  testPrefix,
  type MonitorProcess,
} from '../incidents/harness';

const TOKEN = 'e2e-alert-token';

describe('alert intake end to end (real cluster, real queue, fake Slack)', function () {
  this.timeout(60_000);
  const cluster = useCluster({ masters: 3, nodeTimeoutMs: 1000 });
  let fake: FakeSlack;
  let prefix: string;
  let system: JobSystem;
  let proc: MonitorProcess;
  let server: RouteServer;
  let base: string;

  before(async () => {
    fake = await startFakeSlack();
    prefix = testPrefix();
    // Resolution needs more healthy polls than these tests make: the incident stays open throughout.
    const config = testConfig(prefix, cluster().seeds, fake, { resolveAfterPolls: 50 }, { alerts: { webhookToken: TOKEN } });
    proc = monitorProcess(config);
    system = createJobSystem(config, {
      logger: testLogger(),
      monitorPoll: (job) => proc.monitor.poll(job.data, job.id),
      workers: { name: 'e2e', shutdownGraceMs: 5000 },
    });
    await system.whenReady(10_000);
    await system.startWorkers({ queues: ['monitor'] }); // no schedulers: only alerts trigger polls here
    // The production router (src/http/health.ts), as `start` runs it without Slack.
    server = await startRouteServer(alertRoutes({ config, logger: testLogger(), enqueuer: system.enqueuer, audit: proc.audit }), {
      port: 0,
      host: '127.0.0.1',
    });
    base = server.url;
  });

  after(async function () {
    this.timeout(30_000);
    await server?.close();
    await system?.close();
    await proc?.close();
    await fake?.close();
    await deleteKeys(prefix);
  });

  const payload = (status: 'firing' | 'resolved', alertname = 'RedisClusterDown', summary = 'CLUSTERDOWN seen by checkout') => ({
    version: '4',
    status,
    receiver: 'redis-medic',
    groupLabels: { alertname },
    commonLabels: { alertname, redis_cluster: 'payments' },
    commonAnnotations: { summary },
    alerts: [
      {
        status,
        labels: { alertname, redis_cluster: 'payments' },
        annotations: { summary },
        startsAt: new Date().toISOString(),
        fingerprint: `fp-${alertname}`,
      },
    ],
  });

  const post = (body: unknown, token = TOKEN) =>
    fetch(`${base}/alerts/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });

  it('a bad token is refused (401) and starts nothing', async () => {
    const res = await post(payload('firing'), 'not-it');
    assert.equal(res.status, 401);
    assert.equal(fake.calls.length, 0);
  });

  it('a firing alert for a broken cluster opens an incident thread at once', async () => {
    const c = cluster();
    const victim = c.masters()[1]!;
    await c.kill(victim);
    const res = await post(payload('firing'));
    assert.equal(res.status, 202);
    const { accepted } = (await res.json()) as { accepted: Array<{ cluster: string; reason: string; jobId: string }> };
    assert.deepEqual(
      accepted.map((a) => [a.cluster, a.reason]),
      [['payments', 'alert']],
    );

    const status = await system.waitForJob<PollOutcome>('monitor', accepted[0]!.jobId, 20_000);
    assert.equal(status.state, 'completed', status.error);
    assert.equal(status.result?.incident?.action, 'opened');

    const root = await fake.waitFor('chat.postMessage', isIncidentRoot, 10_000);
    assert.equal(
      root.params.text,
      `:red_circle: payments is DOWN — Master ${victim.addr} is down and has no replica — 5462 slots not served (5461-10922)`,
    );
    assert.match(JSON.stringify(root.params.blocks), /detected by alertmanager: CLUSTERDOWN seen by checkout/);
    const rootTs = (await proc.monitor.store.getIncident('payments'))?.record.rootTs;
    assert.ok(rootTs);
    await fake.waitFor('chat.postMessage', inThread(rootTs), 10_000);

    // Alertmanager repeats itself: the same incident, no second thread.
    const again = await post(payload('firing'));
    const second = ((await again.json()) as { accepted: Array<{ jobId: string }> }).accepted[0]!;
    const status2 = await system.waitForJob<PollOutcome>('monitor', second.jobId, 20_000);
    assert.equal(status2.result?.incident?.id, status.result?.incident?.id);
    assert.equal(fake.calls.filter(isIncidentRoot).length, 1);

    // Resolved alert: a recheck is queued and runs (resolution itself needs N healthy polls).
    await c.restart(victim);
    await c.waitUntilOk();
    const resolved = await post(payload('resolved'));
    const recheck = ((await resolved.json()) as { accepted: Array<{ jobId: string; reason: string }> }).accepted[0]!;
    assert.equal(recheck.reason, 'recheck');
    const status3 = await system.waitForJob<PollOutcome>('monitor', recheck.jobId, 20_000);
    assert.equal(status3.state, 'completed', status3.error);
    assert.equal(status3.result?.incident?.id, status.result?.incident?.id);
  });
  it('alerts joining the open incident are noted in its thread: once per alert when firing, once when resolved', async () => {
    const rec = (await proc.monitor.store.getIncident('payments'))?.record;
    assert.ok(rec?.rootTs, 'the incident of the test before is still open');
    const rootTs = rec.rootTs;
    const notes = (name: string, status: 'firing' | 'resolved') =>
      fake.calls.filter(
        (c) =>
          inThread(rootTs)(c) && new RegExp(`^Alert ${name} ${status === 'firing' ? 'is firing' : 'resolved'}`).test(String(c.params.text)),
      );
    const alert = async (body: unknown): Promise<void> => {
      const res = await post(body);
      assert.equal(res.status, 202);
      const { jobId } = ((await res.json()) as { accepted: Array<{ jobId: string }> }).accepted[0]!;
      const status = await system.waitForJob<PollOutcome>('monitor', jobId, 20_000);
      assert.equal(status.state, 'completed', status.error);
      assert.equal(status.result?.incident?.id, rec.id);
    };

    // The test before: the opening alert fired twice and resolved once.
    assert.equal(notes('RedisClusterDown', 'firing').length, 1);
    assert.equal(notes('RedisClusterDown', 'resolved').length, 1);

    // Another alert joins: noted with its name, status and summary; Alertmanager's repeats are not.
    await alert(payload('firing', 'RedisReplicaLag', 'replica 7003 lags 40 s'));
    await alert(payload('firing', 'RedisReplicaLag', 'replica 7003 lags 40 s'));
    const firing = notes('RedisReplicaLag', 'firing');
    assert.equal(firing.length, 1);
    assert.match(
      JSON.stringify(firing[0]!.params.blocks),
      /:bell: Alert \*RedisReplicaLag\* \(alertmanager\) is firing: replica 7003 lags 40 s/,
    );
    await alert(payload('resolved', 'RedisReplicaLag', 'replica 7003 lags 40 s'));
    await alert(payload('resolved', 'RedisReplicaLag', 'replica 7003 lags 40 s'));
    assert.equal(notes('RedisReplicaLag', 'resolved').length, 1);
    assert.equal(notes('RedisReplicaLag', 'firing').length, 1);
    assert.equal(fake.calls.filter(isIncidentRoot).length, 1, 'still one thread');
  });
});
