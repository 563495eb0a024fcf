// A burst of /redis-diagnose while Slack rate-limits the channel (issue 10 §2): nobody is told
// "invite me" (the bot is a member); each asker is told what really happened, and every
// diagnosis is queued and answered once Slack lets the messages through. Real app (signed
// requests), real job system and queue Redis, a real cluster, the fake Slack answering 429s.
import assert from 'node:assert/strict';
import { eventually } from '../../helpers/cluster';
import { useHarness } from '../../helpers/harness';
import { send, slashCommand } from '../../helpers/slack-requests';
import { responses, SIGNING_SECRET, startHarness } from './support';

const CHANNEL = 'C0BUSY';
const ASKERS = 6;

describe('slack: a burst of diagnoses in a rate-limited channel', function () {
  this.timeout(60_000);
  const t = useHarness({ cluster: { masters: 3 } });

  it(`${ASKERS} askers, every "Diagnosing..." post refused with 429: each is told "rate limited, queued", and each diagnosis is posted later`, async () => {
    const c = t.cluster();
    // One cluster per asker (several names for the one real cluster), so no ask is coalesced into another.
    const clusters = Array.from({ length: ASKERS }, (_, i) => ({ name: `shop${i}`, seeds: c.seeds, channel: CHANNEL }));
    const harness = t.track(await startHarness({ clusters, workers: true }));
    // Every asker's "Diagnosing..." post and the client's two retries are refused: three 429s per
    // cluster, not 3 x ASKERS shared by all (an asker's later retry could take another's refusal).
    const refused = new Map<string, number>();
    harness.fake.fault('chat.postMessage', {
      status: 429,
      retryAfterSec: 1,
      times: ASKERS * 3,
      match: (p) => {
        const cluster = /^Diagnosing (\S+):/.exec(String(p.text))?.[1];
        if (!cluster || (refused.get(cluster) ?? 0) >= 3) return false;
        refused.set(cluster, (refused.get(cluster) ?? 0) + 1);
        return true;
      },
    });

    await Promise.all(
      clusters.map((cl, i) =>
        send(
          slashCommand(harness.url, SIGNING_SECRET, {
            text: cl.name,
            user_id: `U0ASKER${i}`,
            channel_id: CHANNEL,
            response_url: `${harness.fake.responseUrlBase}ask${i}`,
          }),
        ),
      ),
    );
    await eventually(() => responses(harness).length >= ASKERS, { what: 'an answer to every asker', timeoutMs: 30_000 });
    for (const answer of responses(harness)) {
      const text = JSON.stringify(answer.params);
      assert.doesNotMatch(text, /Invite me/, 'the bot is a member: never "invite me"');
      assert.match(text, /Slack is rate-limiting messages in <#C0BUSY> right now/);
      assert.match(text, /is queued: its answer will be posted in <#C0BUSY> as soon as Slack lets it through \(retrying\)/);
    }
    // Queued, not dropped: every cluster's diagnosis reaches the channel once the limit lifts.
    await eventually(
      () =>
        clusters.every((cl) =>
          harness.fake.messages.some((m) => m.channel === CHANNEL && !m.thread_ts && String(m.text).includes(`${cl.name}: OK`)),
        ),
      {
        what: 'a posted diagnosis of every cluster',
        timeoutMs: 40_000,
      },
    );
    assert.equal(harness.enqueuer.diagnoses.length, ASKERS);
  });
});
