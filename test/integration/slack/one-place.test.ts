// Issue 13 §3, one place per outage in Slack, through the real app (signed requests, the real
// job system, the fake Slack Web API) on a real cluster (node-timeout 1000 ms) whose master
// without replica was killed: advice-only plans say what to do by hand; while an incident is open
// /redis-diagnose answers in the incident's thread and offers no second set of buttons; buttons
// posted before the incident point to the incident's fix message instead of running.
import assert from 'node:assert/strict';
import { createClusterMonitor, type ClusterMonitor } from '../../../src/incidents/monitor';
import { silentLogger } from '../../../src/logging/logger';
import { createSlackIncidentPublisher } from '../../../src/slack/incident-publisher';
import { eventually, useCluster } from '../../helpers/cluster';
import type { RecordedCall } from '../../helpers/fake-slack';
import { buttonClick, interaction, send, slashCommand } from '../../helpers/slack-requests';
import { isIncidentRoot } from '../incidents/harness';
import { buttonsIn, SIGNING_SECRET, startHarness, waitForAudit, type Harness } from './support';

const CHANNEL = 'C0PAYMENTS';
const text = (call: RecordedCall): string => JSON.stringify(call.params.blocks ?? call.params.text);
const isRoot = (m: RecordedCall): boolean => m.method === 'chat.postMessage' && m.params.channel === CHANNEL && !m.params.thread_ts;
/** The fake's permalink for a message (what chat.getPermalink answers). */
const permalink = (ts: string): string => `https://fake.slack.test/archives/${CHANNEL}/p${ts.replace('.', '')}`;

describe('slack: one place per outage (real cluster, node-timeout 1000 ms)', function () {
  this.timeout(60_000);
  const cluster = useCluster({ masters: 3, nodeTimeoutMs: 1000 });
  let h: Harness;
  let monitor: ClusterMonitor;
  /** The approve button of the /redis-diagnose thread posted before the incident opened. */
  let early: { approve: ReturnType<typeof buttonsIn>[number]; fixesTs: string } | undefined;

  before(async () => {
    const c = cluster();
    await c.kill(c.masters()[2]!);
    await c.waitUntilFail({ timeoutMs: 20_000 });
    h = await startHarness({ clusters: [{ name: 'payments', seeds: c.seeds, channel: CHANNEL }], workers: true });
    const publisher = createSlackIncidentPublisher({ config: h.config, logger: silentLogger, redis: h.redis });
    monitor = createClusterMonitor({ config: h.config, logger: silentLogger, redis: h.redis, audit: h.audit, publisher });
  });
  after(async () => {
    await h?.close();
  });

  const command = (user: string, tag: string) =>
    send(
      slashCommand(h.url, SIGNING_SECRET, {
        text: 'payments',
        user_id: user,
        channel_id: CHANNEL,
        response_url: `${h.fake.responseUrlBase}${tag}`,
      }),
    );

  it('an advice-only plan (restart the node) says what to do by hand, not "0 steps on 0 node(s)"', async () => {
    assert.equal((await command('U0ASKER', 'first')).status, 200);
    const root = await h.fake.waitFor('chat.postMessage', isRoot, 10_000);
    const rootTs = root.response!.ts as string;
    const fixes = await h.fake.waitFor('chat.postMessage', (m) => m.params.thread_ts === rootTs && buttonsIn([m]).length > 0, 20_000);
    const shown = text(fixes);
    assert.match(shown, /Restart redis-server on 127\.0\.0\.1:\d+ with its data dir/);
    assert.doesNotMatch(shown, /0 steps|node\(s\)/, shown);
    assert.match(shown, /What you do\* \(redis-medic cannot do this itself\)/);
    assert.match(shown, /Start it with the same port, cluster-config-file \(nodes\.conf\) and dir/);
    assert.match(shown, /Then diagnose again/);
    // Executable plans still count their steps and nodes.
    assert.match(shown, /\d+ steps? on 1 node\./);
    const approve = buttonsIn([fixes]).find((b) => b.actionId.startsWith('redis_medic.approve'));
    assert.ok(approve);
    early = { approve, fixesTs: fixes.response!.ts as string };
  });

  it('during an open incident, /redis-diagnose answers in its thread with a link, offers no second buttons, and coalesces askers', async () => {
    const opened = await monitor.poll({ cluster: 'payments', reason: 'schedule' });
    assert.equal(opened.incident?.action, 'opened');
    await h.fake.waitFor('chat.postMessage', isIncidentRoot, 10_000);
    const incident = (await monitor.store.getIncident('payments'))!.record;
    const rootTs = incident.rootTs!;
    const fixesTs = incident.fixes!.ts;
    assert.ok(rootTs && fixesTs, 'the incident thread has its fix message');
    // Two threads never offer the same approvals: as the incident's fix message landed, the
    // buttons of the /redis-diagnose thread (first test) were retired with a pointer to it.
    const retired = h.fake.callsTo('chat.update').filter((m) => m.params.ts === early?.fixesTs);
    assert.equal(retired.length, 1, 'the earlier fix message was edited once');
    assert.match(text(retired[0]!), /An incident is open for \*payments\*: these fixes are no longer offered here/);
    assert.ok(text(retired[0]!).includes(permalink(fixesTs)), text(retired[0]!));
    assert.equal(buttonsIn(retired).length, 0);

    const rootsBefore = h.fake.calls.filter(isRoot).length;
    const callsBefore = h.fake.calls.length;
    const queuedBefore = h.enqueuer.diagnoses.length;
    // Two people ask at once: one diagnosis runs, the other asker is pointed at it.
    const [a, b] = await Promise.all([command('U0ASKER', 'during-a'), command('U0OTHER', 'during-b')]);
    assert.deepEqual([a.status, b.status], [200, 200]);
    assert.equal([a.body, b.body].filter((body) => /already running/.test(body)).length, 1, `${a.body}\n${b.body}`);
    const winner = /already running/.test(a.body) ? 'during-b' : 'during-a';
    await eventually(() => h.enqueuer.diagnoses.length === queuedBefore + 1, { what: 'the diagnosis to be queued', timeoutMs: 10_000 });

    // The fresh diagnosis is a reply in the incident's thread, edited with the verdict.
    const placeholder = await h.fake.waitFor(
      'chat.postMessage',
      (m) => m.params.thread_ts === rootTs && /Diagnosing/.test(text(m)),
      10_000,
    );
    const placeholderTs = placeholder.response!.ts as string;
    assert.deepEqual(h.enqueuer.diagnoses.at(-1)?.origin, {
      kind: 'slack',
      channel: CHANNEL,
      user: winner === 'during-a' ? 'U0ASKER' : 'U0OTHER',
      messageTs: placeholderTs,
      threadTs: rootTs,
      responseUrl: `${h.fake.responseUrlBase}${winner}`,
    });
    await h.fake.waitFor('chat.update', (m) => m.params.ts === placeholderTs && /payments: DOWN/.test(text(m)), 20_000);
    // Its fixes point at the incident's fix message instead of offering buttons of their own.
    const pointer = await h.fake.waitFor(
      'chat.postMessage',
      (m) => m.params.thread_ts === rootTs && /an incident is open for/.test(text(m)),
      20_000,
    );
    assert.ok(text(pointer).includes(permalink(fixesTs)), text(pointer));
    assert.match(text(pointer), /This diagnosis found 3 plans/);
    assert.equal(buttonsIn([pointer]).length, 0);

    // The asker is answered with a link to the reply in the thread.
    const answer = await h.fake.waitFor(`response_url/response/${winner}`, (m) => /An incident is open/.test(text(m)), 10_000);
    assert.ok(text(answer).includes(permalink(placeholderTs)), text(answer));

    const since = h.fake.calls.slice(callsBefore);
    assert.equal(h.fake.calls.filter(isRoot).length, rootsBefore, 'no second root message in the channel');
    assert.deepEqual(
      since.filter((m) => m.method === 'chat.postMessage' || m.method === 'chat.update').flatMap((m) => buttonsIn([m])),
      [],
      'no message of the slash command offers buttons',
    );
    assert.ok(
      since.filter((m) => m.method === 'chat.postMessage').every((m) => m.params.thread_ts === rootTs),
      'everything went into the incident thread',
    );
  });

  it("a click on those retired buttons (a stale screen) runs nothing and answers with the incident's fix message", async () => {
    assert.ok(early, 'the first test left its approve button');
    const incident = (await monitor.store.getIncident('payments'))!.record;
    const click = await send(
      interaction(
        h.url,
        SIGNING_SECRET,
        buttonClick({
          actionId: early.approve.actionId,
          value: early.approve.value,
          userId: 'U0APPROVER',
          channel: CHANNEL,
          messageTs: early.fixesTs,
          responseUrl: `${h.fake.responseUrlBase}early-click`,
        }),
      ),
    );
    assert.equal(click.status, 200);
    const answer = await h.fake.waitFor('response_url/response/early-click', undefined, 10_000);
    assert.match(text(answer), /An incident is open for payments/);
    assert.ok(text(answer).includes(permalink(incident.fixes!.ts)), text(answer));
    const retired = await h.fake.waitFor('chat.update', (m) => m.params.ts === early!.fixesTs, 10_000);
    assert.match(text(retired), /no longer offered here/);
    assert.equal(buttonsIn([retired]).length, 0);
    const refused = await waitForAudit(h, 'repair.refused', (r) => r.details?.reason === 'superseded');
    assert.equal(refused.details?.incidentId, incident.id);
    assert.equal(h.enqueuer.repairs.length, 0, 'nothing ran');
  });
});
