// Slack faults lose nothing and duplicate nothing (issue 10 §2): the incident thread under a
// Slack that answers 500, answers after the call's deadline, or rate-limits. Real cluster (3
// masters, no replica, node-timeout 1000 ms), real queue Redis, the fake Slack Web API playing the
// faults, and the production Slack client of the incident publisher (no retries).
import assert from 'node:assert/strict';
import sinon from 'sinon';
import type { Config } from '../../../src/config/schema';
import type { ClusterMonitor } from '../../../src/incidents/monitor';
import type { MonitorJobData } from '../../../src/jobs/types';
import { INCIDENT_REPLY_EVENT } from '../../../src/slack/blocks/incident';
import { buttonsIn, type RecordedCall } from '../../helpers/fake-slack';
import { useHarness } from '../../helpers/harness';
import { CLUSTER, count, isIncidentRoot, monitorProcess, testConfig } from './harness';

const POLL: MonitorJobData = { cluster: CLUSTER, reason: 'schedule' };

describe('incident thread under Slack faults', function () {
  this.timeout(60_000);
  const h = useHarness({ cluster: { masters: 3 }, healCluster: true, fakeSlack: true });

  /** A monitor process with the production incident publisher; `callTimeoutMs` is its deadline for each Slack call. */
  const monitorOf = (config: Config, options: { callTimeoutMs?: number } = {}): ClusterMonitor =>
    h.track(monitorProcess(config, options)).monitor;

  const replies = (rootTs: string): RecordedCall[] =>
    h.fake.callsTo('chat.postMessage').filter((c) => c.params.thread_ts === rootTs && c.response?.ok);
  const partsOf = (calls: RecordedCall[]): string[] =>
    calls.map((c) => {
      const p = c.params.metadata?.event_payload ?? {};
      return c.params.metadata?.event_type === INCIDENT_REPLY_EVENT ? `${String(p.key).split(':').pop()}/${p.part}` : 'other';
    });

  it('500s after the root was posted: the reply is retried until it lands, whole and in order; the findings count as told only then', async () => {
    const c = h.cluster();
    const config = testConfig(h.prefix, c.seeds, h.fake);
    const m = monitorOf(config);
    await c.kill(c.masters()[2]!);
    // Every thread reply fails for a while; the root goes through.
    h.fake.fault('chat.postMessage', { status: 500, times: 5, match: (p) => Boolean(p.thread_ts) });

    const first = await m.poll(POLL);
    assert.equal(first.incident?.action, 'opened');
    assert.match(first.thread?.stalled ?? '', /^diagnosis: no clear answer from Slack \(incident reply: Slack answered HTTP 500\)/);
    const rootTs = (await m.store.getIncident(CLUSTER))!.record.rootTs!;
    assert.ok(rootTs);
    assert.equal((await m.store.getIncident(CLUSTER))!.record.findingsSignature, '', 'not stored as told while the reply has not landed');

    let polls = 1;
    while ((await m.store.getIncident(CLUSTER))!.record.findingsSignature === '' && polls < 15) {
      await m.poll(POLL);
      polls++;
    }
    const thread = replies(rootTs);
    const parts = partsOf(thread);
    assert.ok(parts.length >= 4, `summary, findings, node table, fixes: ${parts.join(', ')}`);
    assert.deepEqual(parts, [...new Set(parts)], 'no part posted twice');
    assert.deepEqual(
      parts.map((p) => Number(p.split('/')[1])),
      parts.map((_, i) => i),
      'in order, from the first part',
    );
    assert.ok(
      buttonsIn([thread[thread.length - 1]!]).some((b) => b.actionId.startsWith('redis_medic.approve')),
      'the last part is the fix message with its buttons',
    );
    assert.equal(count(h.fake, isIncidentRoot), 1);
  });

  it('a root post answered after the call deadline: looked up before any retry, one root message, a second monitor posts nothing meanwhile', async () => {
    const c = h.cluster();
    const config = testConfig(h.prefix, c.seeds, h.fake);
    // A short deadline per Slack call (production: 15 s, and the client's own 10 s), so the test does
    // not wait 10 s on a real timer; the window is still several times what b's four polls take.
    const [a, b] = [monitorOf(config, { callTimeoutMs: 3000 }), monitorOf(config, { callTimeoutMs: 3000 })];
    await c.kill(c.masters()[2]!);
    h.fake.fault('chat.postMessage', { delayMs: 4000, match: (p) => !p.thread_ts });

    const slow = a.poll(POLL); // its root post gets no answer within the 3 s deadline
    await h.fake.waitFor('chat.postMessage', isIncidentRoot, 5000);
    for (let i = 0; i < 4; i++) {
      const other = await b.poll(POLL);
      assert.equal(other.thread, undefined, 'the other monitor leaves the thread to the one delivering it');
    }
    const first = await slow;
    assert.match(first.thread?.stalled ?? '', /^root: no clear answer from Slack/);
    assert.equal((await a.store.getIncident(CLUSTER))!.record.rootUncertain, true);

    const second = await b.poll(POLL);
    assert.deepEqual(second.thread?.steps.slice(0, 2), ['root', 'diagnosis'], JSON.stringify(second.thread));
    for (let i = 0; i < 3; i++) await a.poll(POLL);
    assert.equal(count(h.fake, isIncidentRoot), 1, 'exactly one root message');
    const rootTs = (await a.store.getIncident(CLUSTER))!.record.rootTs!;
    assert.equal(rootTs, h.fake.callsTo('chat.postMessage').find(isIncidentRoot)!.response!.ts, 'the slow one, found in the channel');
    assert.ok(h.fake.callsTo('conversations.history').length >= 1, 'the channel was read before posting again');
    assert.ok(replies(rootTs).length >= 4, 'and the thread got its diagnosis');
  });

  it('429 with Retry-After on the thread: says so, waits that long, then delivers', async () => {
    const c = h.cluster();
    const config = testConfig(h.prefix, c.seeds, h.fake);
    // Retry-After is waited out on the monitor's clock (Date.now): a fake Date, moved instead of slept on.
    const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    h.defer(() => clock.restore());
    const m = monitorOf(config);
    await c.kill(c.masters()[2]!);
    h.fake.fault('chat.postMessage', { status: 429, retryAfterSec: 3, match: (p) => Boolean(p.thread_ts) });

    const first = await m.poll(POLL);
    assert.equal(first.thread?.stalled, 'diagnosis: rate limited by Slack: retrying in 3 s');
    const waiting = (await m.store.getIncident(CLUSTER))!.record.slackNotBefore!;
    assert.equal(waiting, clock.now + 3000);
    const callsBefore = h.fake.calls.length;
    clock.tick(2999);
    const early = await m.poll(POLL);
    assert.equal(early.thread, undefined, 'nothing is sent to Slack before Retry-After has passed');
    assert.equal(h.fake.calls.slice(callsBefore).filter((x) => x.method === 'chat.postMessage').length, 0);

    clock.tick(1);
    const later = await m.poll(POLL);
    assert.deepEqual(later.thread?.steps, ['diagnosis'], JSON.stringify(later.thread));
  });
});
