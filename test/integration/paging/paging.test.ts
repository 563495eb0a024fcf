// Paging through the whole `start` service (startService) on a real cluster: a master is killed
// (node-timeout 1000 ms), the monitor opens the incident, and a local HTTP receiver standing in
// for PagerDuty's Events API v2 and for a generic webhook records what it got: the trigger (after
// a timeout and two 503s, retried), the webhook's opened event (refused with 400, not retried),
// then the resolve and the resolved event once the master is back.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { parseConfig } from '../../../src/config/load';
import type { PollOutcome } from '../../../src/incidents/monitor';
import { createLogger } from '../../../src/logging/logger';
import { createPager } from '../../../src/paging/pager';
import { startService, type RunningService } from '../../../src/service';
import { useCluster } from '../../helpers/cluster';
import { startFakeSlack, type FakeSlack } from '../../helpers/fake-slack';
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest } from '../../helpers/http-receiver';
import { deleteKeys, isIncidentRoot, testPrefix } from '../incidents/harness';

const CLUSTER = 'shop';
const CHANNEL = 'C0SHOP';
const ROUTING_KEY = 'R0UT1NGKEYpaging0123456789abcdef';
const HOOK_SECRET = 'hook-secret-5e3f9a';

/** Log lines, as written (JSON), to check what was said and that no secret was. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; text: () => string; messages: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    logger: createLogger({ level: 'debug' }, sink),
    text: () => lines.join(''),
    messages: () => lines.map((l) => (JSON.parse(l) as { msg?: string }).msg ?? '').join('\n'),
  };
}

const pd = (action: string) => (r: ReceivedRequest) => r.path === '/pd' && (r.body as { event_action?: string }).event_action === action;
const hook = (event: string) => (r: ReceivedRequest) => r.path === '/hook' && (r.body as { event?: string }).event === event;

describe('paging: PagerDuty Events API v2 and a JSON webhook, from a real incident', function () {
  this.timeout(120_000);
  const cluster = useCluster({ masters: 3, nodeTimeoutMs: 1000 });
  let fake: FakeSlack;
  let receiver: HttpReceiver;
  let service: RunningService | undefined;
  const prefix = testPrefix();

  before(async () => {
    fake = await startFakeSlack();
    receiver = await startHttpReceiver();
  });
  after(async () => {
    await service?.stop();
    await receiver.close();
    await fake.close();
    await deleteKeys(prefix);
  });

  it('triggers with the thread link (retrying a timeout and 5xx), does not retry a 4xx, resolves with the same dedup key', async () => {
    const c = cluster();
    const config = parseConfig({
      clusters: [
        {
          name: CLUSTER,
          seeds: c.seeds,
          channel: CHANNEL,
          paging: {
            pagerduty: { routingKey: ROUTING_KEY, url: `${receiver.url}/pd` },
            webhooks: [{ url: `${receiver.url}/hook`, headers: { authorization: `Bearer ${HOOK_SECRET}` } }],
          },
        },
      ],
      timeouts: { connectMs: 300, commandMs: 800 },
      queue: { prefix, redisUrl: 'redis://127.0.0.1:6379' },
      monitor: { intervalMs: 500, resolveAfterPolls: 2 },
      slack: { botToken: 'test-bot-token', apiUrl: fake.apiUrl, signingSecret: 'paging-test-signing-secret' },
      approvalSecret: 'test-approval-secret',
      paging: { timeoutMs: 400, attempts: 5, minBackoffMs: 50, maxBackoffMs: 200, slackUrl: 'https://acme.slack.com' },
    });
    // PagerDuty: the trigger's first attempt gets no answer, the next two a 503; the webhook
    // refuses the opened event with a 400 (a bad body does not get better by asking again).
    receiver.script(
      '/pd',
      ['hang', 503, { status: 503, body: '{"status":"unavailable"}' }],
      (b) => (b as { event_action?: string }).event_action === 'trigger',
    );
    receiver.script('/hook', [{ status: 400, body: `{"error":"bad field","echo":"Bearer ${HOOK_SECRET}"}` }]);
    const logs = capturingLogger();
    service = await startService(config, { logger: logs.logger, port: 0 });

    await c.kill(c.masters()[2]!);
    await receiver.waitFor((rs) => rs.some((r) => pd('trigger')(r) && r.answered === 202), 'the trigger accepted', 40_000);
    const root = await fake.waitFor('chat.postMessage', isIncidentRoot, 5000);
    const rootTs = String(root.response?.ts);
    const triggers = receiver.requests.filter(pd('trigger'));
    assert.deepEqual(
      triggers.map((r) => r.answered),
      ['hung', 503, 503, 202],
      'a timeout and two 503s are retried, then it lands',
    );
    const body = triggers[0]!.body as Record<string, any>;
    for (const t of triggers) assert.deepEqual(t.body, body, 'every retry sends the same event');
    const incidentId = body.dedup_key as string;
    assert.match(incidentId, new RegExp(`^${CLUSTER}-\\d{8}-\\d{4}-[0-9a-f]{4}$`));
    assert.equal(body.routing_key, ROUTING_KEY);
    assert.equal(body.event_action, 'trigger');
    assert.equal(body.payload.severity, 'critical');
    assert.equal(body.payload.source, `redis-cluster/${CLUSTER}`);
    assert.match(body.payload.summary, /^Redis Cluster shop is down: /);
    const permalink = `https://acme.slack.com/archives/${CHANNEL}/p${rootTs.replace('.', '')}`;
    assert.deepEqual(body.links, [{ href: permalink, text: `Slack thread of incident ${incidentId}` }]);
    assert.equal(root.params.metadata?.event_payload?.incident_id ?? incidentId, incidentId);

    // The webhook's 400 was said clearly, once, and not retried.
    await receiver.waitFor((rs) => rs.some(hook('incident.opened')), 'the opened webhook');
    assert.match(
      logs.messages(),
      /paging: webhook \(127\.0\.0\.1:\d+\) refused the incident\.opened of [^:]+: HTTP 400 Bad Request: .*"echo":"\[redacted\]".*; not retried/,
    );

    // The master comes back: resolved, with the same dedup key, on both.
    await c.restart(c.masters()[2]!);
    await receiver.waitFor(
      (rs) => rs.some((r) => pd('resolve')(r) && r.answered === 202) && rs.some((r) => hook('incident.resolved')(r) && r.answered === 202),
      'the resolve and the resolved webhook',
      60_000,
    );
    await service.pager!.idle();
    assert.deepEqual(
      receiver.requests.filter(pd('resolve')).map((r) => r.body),
      [{ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: incidentId }],
    );
    const opened = receiver.requests.filter(hook('incident.opened'));
    assert.equal(opened.length, 1, 'a 4xx is not retried');
    const resolved = receiver.requests.filter(hook('incident.resolved'));
    assert.equal(resolved.length, 1);
    const r = resolved[0]!;
    assert.equal(r.headers.authorization, `Bearer ${HOOK_SECRET}`);
    assert.equal(r.headers['content-type'], 'application/json');
    const event = r.body as Record<string, any>;
    assert.equal(event.version, 1);
    assert.equal(event.incidentId, incidentId);
    assert.equal(event.cluster, CLUSTER);
    assert.equal(event.slackThread, permalink);
    assert.equal(event.verdict, 'down');
    assert.ok(event.durationMs > 0 && Date.parse(event.resolvedAt) - Date.parse(event.openedAt) === event.durationMs);
    assert.equal(receiver.requests.filter((x) => x.path === '/pd').length, 5, 'four trigger attempts and one resolve: nothing else');

    // Neither secret reached the logs, even where the receiver echoed one back.
    const text = logs.text();
    assert.ok(!text.includes(ROUTING_KEY), 'the routing key is never logged');
    assert.ok(!text.includes(HOOK_SECRET), 'a webhook header value is never logged');
    assert.match(logs.messages(), /did not take the trigger of [^ ]+ \(no answer within 400 ms\), attempt 1 of 5/);
    assert.match(logs.messages(), /did not take the trigger of [^ ]+ \(HTTP 503[^)]*\), attempt 2 of 5/);
  });

  it('never holds up the poll: the observer returns while the receiver has not answered; close() cuts the retries short and says so', async () => {
    const hang = await startHttpReceiver();
    const logs = capturingLogger();
    try {
      hang.script('/pd', ['hang', 'hang', 'hang']);
      const config = parseConfig({
        clusters: [{ name: CLUSTER, seeds: ['127.0.0.1:1'], paging: { pagerduty: { routingKey: ROUTING_KEY, url: `${hang.url}/pd` } } }],
        paging: { timeoutMs: 60_000, attempts: 3 },
      });
      const pager = createPager({ config, logger: logs.logger })!;
      const outcome: PollOutcome = {
        cluster: CLUSTER,
        reason: 'schedule',
        off: true,
        reasons: [],
        verdict: 'down',
        incident: {
          id: 'shop-20261130-1700-abcd',
          action: 'opened',
          detail: {
            cluster: CLUSTER,
            openedAt: Date.now(),
            resolvedAt: null,
            cause: null,
            verdict: 'down',
            flaps: 0,
            channel: null,
            rootTs: null,
          },
        },
      };
      await pager.onPoll(outcome, Date.now());
      // The poll is done; the page is still waiting for an answer.
      await hang.waitFor((rs) => rs.length === 1, 'the trigger');
      assert.equal(hang.requests[0]!.answered, 'hung');
      await pager.close(0);
      assert.equal(hang.requests.length, 1, 'nothing retried after close');
      assert.match(
        logs.text(),
        /the trigger of shop-20261130-1700-abcd was NOT delivered to pagerduty \(127\.0\.0\.1:\d+\): [^;]+; shutting down/,
      );
      assert.ok(!logs.text().includes(ROUTING_KEY));
    } finally {
      await hang.close();
    }
  });
});
