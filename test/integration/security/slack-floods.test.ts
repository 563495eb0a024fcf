// Issue 11 §3, floods: many people (or one script) asking at once get one diagnosis per cluster
// and a pointer to its thread; one person gets a fair share of requests and a clear refusal
// beyond it. The running app, signed requests, the real queue Redis and a real cluster.
import assert from 'node:assert/strict';
import { eventually } from '../../helpers/cluster';
import { useHarness } from '../../helpers/harness';
import { buttonClick, interaction, send, slashCommand } from '../../helpers/slack-requests';
import { responses, SIGNING_SECRET, startHarness, type Harness } from '../slack/support';

describe('slack floods (issue 11 §3)', function () {
  this.timeout(60_000);
  const t = useHarness({ cluster: { masters: 3 } });

  const ask = (harness: Harness, user: string, text = 'alpha') =>
    send(slashCommand(harness.url, SIGNING_SECRET, { text, user_id: user, response_url: `${harness.fake.responseUrlBase}cmd-${user}` }));
  const slackApiCalls = (harness: Harness) =>
    harness.fake.calls.filter((c) => c.method !== 'auth.test' && !c.method.startsWith('response_url'));

  it('100 concurrent /redis-diagnose alpha: one diagnosis, a bounded number of Slack calls, everyone pointed at its thread', async () => {
    const harness = t.track(await startHarness({ clusters: [{ name: 'alpha', seeds: t.cluster().seeds, channel: 'C0ALPHA' }] }));
    const users = Array.from({ length: 25 }, (_, i) => `U0FLOOD${i}`);
    // No worker yet: the diagnosis stays in flight for the whole flood.
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => ask(harness, users[i % users.length]!)));

    assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
    assert.equal(harness.enqueuer.diagnoses.length, 1, 'one diagnosis job');
    assert.equal(await harness.jobs.queues.diagnose.count(), 1);
    const calls = slackApiCalls(harness);
    assert.ok(calls.length <= 3, `Slack calls: ${calls.map((c) => c.method).join(', ')}`);
    assert.equal(harness.fake.callsTo('chat.postMessage').length, 1);
    const pointed = answers.filter((a) => /already running/.test(a.body));
    assert.equal(pointed.length, 99, 'every later asker is told a diagnosis is running');

    // Once the root message is posted, askers get the link to its thread.
    const rootTs = harness.fake.callsTo('chat.postMessage')[0]!.response!.ts as string;
    await eventually(async () => /archives\/C0ALPHA\/p/.test((await ask(harness, 'U0LATE')).body), {
      what: 'an answer with the thread link',
      timeoutMs: 5000,
    });
    const late = await ask(harness, 'U0LATER');
    assert.match(late.body, new RegExp(`archives/C0ALPHA/p${rootTs.replace('.', '')}\\|in this thread`));
    assert.equal(harness.enqueuer.diagnoses.length, 1);

    // The diagnosis answers; the next ask is a new diagnosis.
    await harness.jobs.startWorkers({ queues: ['diagnose'] });
    await harness.fake.waitFor('chat.update', (c) => c.params.ts === rootTs && /alpha: OK/.test(JSON.stringify(c.params.blocks)), 20_000);
    await eventually(
      async () => {
        await ask(harness, 'U0NEXT');
        return harness.enqueuer.diagnoses.length === 2;
      },
      { what: 'a new diagnosis once the first one answered', timeoutMs: 5000 },
    );
  });

  it('per-user rate limit: a clear ephemeral refusal past the limit, others unaffected, one reply per window to a click flood', async () => {
    const harness = t.track(
      await startHarness({
        clusters: [{ name: 'alpha', seeds: t.cluster().seeds, channel: 'C0ALPHA' }],
        config: { slack: { rateLimit: { perUser: 5, windowMs: 60_000 } } },
      }),
    );
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await ask(harness, 'U0SCRIPT', 'list'));
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(8).fill(200),
    );
    assert.equal(answers.filter((a) => !/Too many requests/.test(a.body)).length, 5);
    await eventually(() => responses(harness).filter((c) => c.method === 'response_url/response/cmd-U0SCRIPT').length === 5, {
      what: 'the five lists',
      timeoutMs: 5000,
    });
    const refused = answers.slice(5).map((a) => JSON.parse(a.body) as { response_type: string; text: string });
    for (const r of refused) {
      assert.equal(r.response_type, 'ephemeral');
      assert.match(r.text, /Too many requests: at most 5 per 60 s per person\. Nothing was done; try again in \d+ s/);
    }
    assert.doesNotMatch((await ask(harness, 'U0SOMEONEELSE', 'list')).body, /Too many requests/);

    // Fifteen clicks from one user: five answered (a refused button value each), then one
    // "too many requests" for the ten past the limit, not ten.
    for (let i = 0; i < 15; i++) {
      const res = await send(
        interaction(
          harness.url,
          SIGNING_SECRET,
          buttonClick({
            actionId: 'redis_medic.rediagnose',
            value: 'x',
            userId: 'U0CLICKER',
            responseUrl: `${harness.fake.responseUrlBase}click`,
          }),
        ),
      );
      assert.equal(res.status, 200);
    }
    await harness.fake.waitFor('response_url/response/click', (c) => /Too many requests/.test(String(c.params.text)));
    await eventually(() => responses(harness).filter((c) => c.method === 'response_url/response/click').length >= 6, {
      what: 'six replies to the clicks',
      timeoutMs: 5000,
    });
    const replies = responses(harness)
      .filter((c) => c.method === 'response_url/response/click')
      .map((c) => String(c.params.text));
    assert.equal(replies.length, 6, replies.join('\n'));
    assert.equal(replies.filter((t) => /Too many requests/.test(t)).length, 1);
    assert.equal(harness.enqueuer.diagnoses.length, 0);
  });
});
