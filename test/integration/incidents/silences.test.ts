// Silences through signed slash commands into the real Slack app (fake Web API, real queue Redis)
// and the incident monitor on a real cluster (3 masters, node-timeout 1000 ms). The monitor's
// clock is a sinon fake Date: the silence's end is decided by our own clock, and moved instead
// of slept on. Everything else is real.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import type { PollOutcome } from '../../../src/incidents/monitor';
import { createSilenceStore } from '../../../src/incidents/silences';
import { silentLogger } from '../../../src/logging/logger';
import { createPager, type Pager } from '../../../src/paging/pager';
import { useCluster } from '../../helpers/cluster';
import type { RecordedCall } from '../../helpers/fake-slack';
import { startHttpReceiver, type HttpReceiver } from '../../helpers/http-receiver';
import { send, slashCommand } from '../../helpers/slack-requests';
import { SIGNING_SECRET, startHarness, type Harness } from '../slack/support';
import { count, isIncidentRoot, monitorProcess, type MonitorProcess } from './harness';

const CHANNEL = 'C0PAYMENTS';
const realNow = (): number => Math.floor(performance.timeOrigin + performance.now());
const text = (c: RecordedCall): string => JSON.stringify(c.params.blocks ?? c.params.text);

describe('silences: /redis-diagnose silence and unsilence, maintenance windows, on a real cluster', function () {
  this.timeout(90_000);
  const cluster = useCluster({ masters: 3, nodeTimeoutMs: 1000 });
  let h: Harness;
  let receiver: HttpReceiver;
  let clock: sinon.SinonFakeTimers;
  let m: MonitorProcess;
  let pager: Pager;

  before(async () => {
    receiver = await startHttpReceiver();
    const c = cluster();
    h = await startHarness({
      clusters: [
        { name: 'payments', seeds: c.seeds, channel: CHANNEL, paging: { webhooks: [{ url: `${receiver.url}/hook` }] } },
        // The same nodes under another name, in a configured maintenance window (in force now).
        {
          name: 'upkeep',
          seeds: c.seeds,
          channel: 'C0UPKEEP',
          maintenance: [
            {
              from: new Date(Date.now() - 60_000).toISOString(),
              until: new Date(Date.now() + 3_600_000).toISOString(),
              reason: 'yearly upgrade',
            },
          ],
        },
      ],
      config: { timeouts: { connectMs: 300, commandMs: 800 }, paging: { minBackoffMs: 50, maxBackoffMs: 100, attempts: 2 } },
    });
    clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    m = monitorProcess(h.config);
    pager = createPager({ config: h.config, logger: silentLogger })!;
  });
  after(async () => {
    clock?.restore();
    await pager?.close(0);
    await m?.close();
    await h?.close();
    await receiver?.close();
  });

  /** One monitor poll, handed to the pager as the service does. */
  async function poll(name = 'payments'): Promise<PollOutcome> {
    const outcome = await m.monitor.poll({ cluster: name, reason: 'schedule' });
    await pager.onPoll(outcome, Date.now());
    return outcome;
  }

  async function command(commandText: string, user: string): Promise<{ ack: string; reply: string | null }> {
    const before = h.fake.callsTo('response_url/response/cmd').length;
    const res = await send(
      slashCommand(h.url, SIGNING_SECRET, {
        text: commandText,
        user_id: user,
        channel_id: CHANNEL,
        response_url: `${h.fake.responseUrlBase}cmd`,
      }),
    );
    assert.equal(res.status, 200);
    // An answer in the ack (a refusal of bad input) or, after the ack, one on response_url.
    if (res.body) return { ack: res.body, reply: null };
    await h.fake.waitFor('response_url/response/cmd', () => h.fake.callsTo('response_url/response/cmd').length > before);
    const reply = h.fake.callsTo('response_url/response/cmd')[before]!;
    return { ack: '', reply: text(reply) };
  }

  const stored = () => createSilenceStore(h.redis, h.prefix).get('payments');

  it('refuses non-approvers and bad durations clearly and changes nothing; an approver silences, list shows it, audited', async () => {
    const refused = await command('silence payments 2h upgrade', 'U0STRANGER');
    assert.match(refused.reply!, /Only approvers of \*payments\* may silence it/);
    assert.match(refused.reply!, /Nothing changed/);
    assert.equal(await stored(), null);
    assert.equal((await h.auditEntries('silence.refused')).length, 1);

    for (const [duration, why] of [
      ['soon', /`soon` is not a duration: use a number and a unit/],
      ['10d', /`10d` is longer than 7 days: use a maintenance window/],
      ['30s', /`30s` is shorter than a minute/],
    ] as const) {
      const bad = await command(`silence payments ${duration} upgrade`, 'U0APPROVER');
      assert.match(bad.ack, /Nothing changed/);
      assert.match(bad.ack, why);
    }
    assert.match(
      (await command('silence payments', 'U0APPROVER')).ack,
      /Usage: `\/redis-diagnose silence &lt;cluster&gt; &lt;duration&gt; \[reason\]`/,
    );
    assert.equal(await stored(), null, 'bad input changes nothing');
    assert.equal((await h.auditEntries('silence.set')).length, 0);

    const ok = await command('silence payments 1h30m db upgrade', 'U0APPROVER');
    assert.match(ok.reply!, /\*payments\* is silenced until .*opens no incident thread and pages nobody/);
    const silence = (await stored())!.silence;
    assert.equal(silence.until - silence.at, 90 * 60_000);
    assert.deepEqual([silence.by, silence.reason, silence.source], ['U0APPROVER', 'db upgrade', 'command']);
    const [audit] = await h.auditEntries('silence.set');
    assert.deepEqual(audit!.details, { until: new Date(silence.until).toISOString(), durationMs: 5_400_000, reason: 'db upgrade' });
    assert.equal(audit!.actor, 'U0APPROVER');

    const list = await command('list', 'U0STRANGER');
    assert.match(list.reply!, /\*payments\*[^•]*:no_bell: silenced until [^•]* by <@U0APPROVER> \(db upgrade\)/);
  });

  it('while silenced the monitor polls and records but opens no thread and pages nobody; at its end the incident opens and its root says until when', async () => {
    const c = cluster();
    const victim = c.masters()[2]!;
    await c.kill(victim);
    for (let i = 0; i < 3; i++) {
      const outcome = await poll();
      assert.equal(outcome.incident, null, 'no incident decision while silenced');
      assert.equal(outcome.silenced?.by, 'U0APPROVER');
    }
    // Still polled and recorded: a full diagnosis saw it down, the history has the dead node.
    const last = await poll();
    assert.equal(last.verdict, 'down');
    const alive = await m.monitor.store.lastKnownNodeState('payments', c.masters()[0]!.addr);
    assert.equal(alive?.at, Date.now(), 'node history recorded by the silenced polls');
    assert.equal(await m.monitor.store.getIncident('payments'), null);
    assert.equal(count(h.fake, isIncidentRoot), 0, 'no incident thread');
    await pager.idle();
    assert.equal(receiver.requests.length, 0, 'nobody paged');

    // The silence ends (on the monitor's clock): the next poll opens the incident.
    const until = (await stored())!.silence.until;
    clock.tick(until - Date.now() + 1);
    const opened = await poll();
    assert.equal(opened.incident?.action, 'opened');
    assert.equal(opened.silenced, undefined);
    const root = h.fake.callsTo('chat.postMessage').find(isIncidentRoot)!;
    assert.ok(root, 'the root message was posted');
    const stamp = Math.floor(until / 1000);
    assert.match(text(root), new RegExp(`\\*Silenced\\* until <!date\\^${stamp}\\^[^>]*> by <@U0APPROVER> \\(db upgrade\\)`));
    await receiver.waitFor((rs) => rs.some((r) => (r.body as { event?: string }).event === 'incident.opened'), 'the page');

    // Reported once: a later poll does not edit the root for it again.
    const edits = h.fake.callsTo('chat.update').length;
    await poll();
    assert.ok((await stored())!.silence.noted);
    assert.equal(
      h.fake
        .callsTo('chat.update')
        .slice(edits)
        .filter((u) => /Silenced/.test(text(u)) && u.params.ts === root.response?.ts).length,
      0,
    );
    await c.restart(victim);
  });

  it('unsilence ends a silence at once (audited); a maintenance window in the config silences its cluster and shows in list', async () => {
    // The app checks request times on the real clock, the monitor decides on the fake one: bring
    // the fake one back to now (it was moved past the last silence).
    clock.setSystemTime(realNow());
    await command('silence payments 2h', 'U0APPROVER');
    const off = await command('unsilence payments', 'U0APPROVER');
    assert.match(off.reply!, /:bell: \*payments\* is no longer silenced \(it was silenced until .* by <@U0APPROVER>\)/);
    assert.equal((await h.auditEntries('silence.cleared')).length, 1);
    clock.setSystemTime(realNow());
    assert.equal((await poll()).silenced, undefined);
    assert.match((await command('unsilence payments', 'U0STRANGER')).reply!, /Only approvers of \*payments\* may unsilence it/);

    const upkeep = await poll('upkeep');
    assert.equal(upkeep.silenced?.source, 'maintenance');
    assert.equal(upkeep.silenced?.reason, 'yearly upgrade');
    const list = await command('list', 'U0STRANGER');
    assert.match(list.reply!, /\*upkeep\*[^•]*:no_bell: silenced until [^•]* by a maintenance window \(config\) \(yearly upgrade\)/);
    assert.doesNotMatch(list.reply!, /\*payments\*[^•]*no_bell/);
  });
});
