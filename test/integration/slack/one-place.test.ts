// Issue 13 §3, one place per outage in Slack, through the real app (signed requests, the real
// job system, the fake Slack Web API) on a real cluster (node-timeout 1000 ms) whose master
// without replica was killed: advice-only plans say what to do by hand; while an incident is open
// /redis-diagnose answers in the incident's thread and offers no second set of buttons; buttons
// posted before the incident point to the incident's fix message instead of running.
import assert from 'node:assert/strict';
import { useCluster } from '../../helpers/cluster';
import type { RecordedCall } from '../../helpers/fake-slack';
import { send, slashCommand } from '../../helpers/slack-requests';
import { buttonsIn, SIGNING_SECRET, startHarness, type Harness } from './support';

const CHANNEL = 'C0PAYMENTS';
const text = (call: RecordedCall): string => JSON.stringify(call.params.blocks ?? call.params.text);
const isRoot = (m: RecordedCall): boolean => m.method === 'chat.postMessage' && m.params.channel === CHANNEL && !m.params.thread_ts;

describe('slack: one place per outage (real cluster, node-timeout 1000 ms)', function () {
  this.timeout(60_000);
  const cluster = useCluster({ masters: 3, nodeTimeoutMs: 1000 });
  let h: Harness;

  before(async () => {
    const c = cluster();
    await c.kill(c.masters()[2]!);
    await c.waitUntilFail({ timeoutMs: 20_000 });
    h = await startHarness({ clusters: [{ name: 'payments', seeds: c.seeds, channel: CHANNEL }], workers: true });
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
  });
});
