// The heart of the product, as an on-call engineer meets it: a master without a replica dies,
// the monitor opens its thread at once (the other nodes still list the dead master as plain
// `master ... disconnected`), node-timeout passes (they now flag it `fail`), and an approver
// clicks the thread's own Approve button. Production-like node-timeout (4000 ms), real cluster,
// real queue Redis and job system, signed Slack requests, the fake Slack Web API.
import assert from 'node:assert/strict';
import type { MonitorJobData } from '../../../src/jobs/types';
import { useHarness } from '../../helpers/harness';
import { buttonsIn, clickIn, startHarness } from '../slack/support';
import { isIncidentRoot, monitorProcess } from './harness';

const CHANNEL = 'C0INCIDENTS';
const POLL: MonitorJobData = { cluster: 'orders', reason: 'schedule' };

describe('incident thread: the first Approve click works (node-timeout 4000 ms)', function () {
  this.timeout(90_000);
  const t = useHarness({ cluster: { masters: 3, nodeTimeoutMs: 4000 } });

  it('kill a master without replica → thread before node-timeout → wait past it → Approve in the thread → cluster_state:ok', async () => {
    const c = t.cluster();
    const harness = t.track(await startHarness({ clusters: [{ name: 'orders', seeds: c.seeds, channel: CHANNEL }], workers: true }));
    const { monitor } = t.track(monitorProcess(harness.config, { redis: harness.redis }));

    const victim = c.masters()[2]!;
    await c.kill(victim);
    // The monitor's first look: the others still list the victim without a fail flag.
    const first = await monitor.poll(POLL);
    assert.equal(first.incident?.action, 'opened');
    const views = await c.clusterNodes(c.masters()[0]!);
    assert.deepEqual(views.find((l) => l.id === victim.id)?.flags, ['master'], 'the thread appeared before the cluster flagged the master');

    const root = await harness.fake.waitFor('chat.postMessage', isIncidentRoot, 10_000);
    const rootTs = root.response!.ts as string;
    const fixes = await harness.fake.waitFor('chat.postMessage', (m) => m.params.thread_ts === rootTs && buttonsIn([m]).length > 0, 10_000);

    // Past node-timeout the cluster flags it fail; the monitor keeps polling meanwhile.
    await c.waitUntilFlagged(victim, 'fail', { timeoutMs: 20_000 });
    await monitor.poll(POLL);
    await monitor.poll(POLL);

    // The buttons to click are the thread's current ones: the fix message as last posted or edited.
    const fixesTs = fixes.response!.ts as string;
    const edits = harness.fake.callsTo('chat.update').filter((m) => m.params.ts === fixesTs && buttonsIn([m]).length > 0);
    const current = edits.length ? edits[edits.length - 1]! : fixes;
    const approve = buttonsIn([current]).find(
      (b) => b.actionId.startsWith('redis_medic.approve') && /Assign slots 10923-16383/.test(b.text),
    );
    assert.ok(approve, `an "Approve: Assign slots 10923-16383" button in ${JSON.stringify(current.params.blocks)}`);

    const click = await clickIn(harness, approve, { channel: CHANNEL, ts: fixesTs, threadTs: rootTs }, 'click');
    assert.equal(click.status, 200);

    const outcome = await harness.fake.waitFor(
      'chat.postMessage',
      (m) => m.params.thread_ts === rootTs && /Repair/.test(String(m.params.text)),
      30_000,
    );
    assert.doesNotMatch(
      String(outcome.params.text),
      /refused|cluster changed/,
      `the approval was not refused as stale: ${JSON.stringify(outcome.params.blocks)}`,
    );
    assert.match(JSON.stringify(outcome.params.blocks), /Repaired/);
    await c.waitUntilOk({ timeoutMs: 15_000 });
  });
});
