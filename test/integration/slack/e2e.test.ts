// End to end on a real broken cluster: slash command → thread with findings and buttons →
// signed approve click → the real job system repairs it → the thread shows the verified outcome.
import assert from 'node:assert/strict';
import type { RecordedCall } from '../../helpers/fake-slack';
import { useHarness } from '../../helpers/harness';
import { send, slashCommand } from '../../helpers/slack-requests';
import { buttonsIn, clickIn, SIGNING_SECRET, startHarness } from './support';

describe('slack end to end on a real cluster', function () {
  this.timeout(60_000);
  // Slots 16000-16383 never assigned: SLOTS_UNASSIGNED, fixed by ASSIGN_UNCOVERED_SLOTS (no spare needed).
  const t = useHarness({ cluster: { masters: 3, slots: [[0, 15999]] } });

  const text = (call: RecordedCall): string => JSON.stringify(call.params.blocks ?? call.params.text);

  it('/redis-diagnose → findings and buttons in a thread → approve → repaired, thread edited with the outcome', async () => {
    const c = t.cluster();
    await c.waitUntilFail();
    const harness = t.track(await startHarness({ clusters: [{ name: 'shop', seeds: c.seeds, channel: 'C0SHOP' }], workers: true }));

    const ack = await send(
      slashCommand(harness.url, SIGNING_SECRET, { text: 'shop', user_id: 'U0ASKER', response_url: `${harness.fake.responseUrlBase}cmd` }),
    );
    assert.equal(ack.status, 200);
    const root = await harness.fake.waitFor('chat.postMessage', (m) => m.params.channel === 'C0SHOP' && !m.params.thread_ts);
    const rootTs = root.response!.ts as string;

    // The worker edits the root with the verdict, then answers in the thread.
    const verdict = await harness.fake.waitFor('chat.update', (m) => m.params.ts === rootTs && /shop: DOWN/.test(text(m)), 20_000);
    assert.match(text(verdict), /SLOTS_UNASSIGNED/);
    assert.match(text(verdict), /Not served:\* 16000-16383 \(384 of 16384 slots\)/);
    const fixes = await harness.fake.waitFor('chat.postMessage', (m) => m.params.thread_ts === rootTs && buttonsIn([m]).length > 0, 20_000);
    const thread = harness.fake.callsTo('chat.postMessage').filter((m) => m.params.thread_ts === rootTs);
    assert.ok(
      thread.some((m) => /Findings/.test(text(m)) && /SLOTS_UNASSIGNED/.test(text(m))),
      'a findings reply with evidence',
    );
    assert.ok(
      thread.some((m) => /NODE +ID +ROLE/.test(text(m))),
      'a node table reply',
    );
    const approve = buttonsIn([fixes]).find((b) => b.actionId.startsWith('redis_medic.approve'));
    assert.ok(approve, `an approve button in ${text(fixes)}`);
    assert.match(approve.text, /^Approve: /);
    assert.match(approve.confirm.text.text, /CLUSTER ADDSLOTSRANGE 16000 16383/);

    const click = await clickIn(harness, approve, { channel: 'C0SHOP', ts: fixes.response!.ts as string, threadTs: rootTs }, 'click');
    assert.equal(click.status, 200);

    const outcome = await harness.fake.waitFor(
      'chat.postMessage',
      (m) => m.params.thread_ts === rootTs && /Repair/.test(String(m.params.text)),
      30_000,
    );
    assert.match(text(outcome), /Repaired/);
    assert.match(text(outcome), /CLUSTER ADDSLOTSRANGE 16000 16383/);
    assert.match(text(outcome), /Final check:\* :large_green_circle: \*OK\*/);
    await c.waitUntilOk({ timeoutMs: 10_000 });

    // Progress went into edits of the buttons message, not new thread replies.
    const buttonEdits = harness.fake.callsTo('chat.update').filter((m) => m.params.ts === fixes.response!.ts);
    assert.ok(buttonEdits.some((m) => /Approved by <@U0APPROVER>, running/.test(text(m))));
    assert.match(text(buttonEdits[buttonEdits.length - 1]!), /Repaired/);
    const rootEdits = harness.fake.callsTo('chat.update').filter((m) => m.params.ts === rootTs);
    assert.match(text(rootEdits[rootEdits.length - 1]!), /shop: OK/);
    const replies = harness.fake.callsTo('chat.postMessage').filter((m) => m.params.thread_ts === rootTs);
    assert.equal(replies.length, thread.length + 1, 'only the outcome was added to the thread');

    const actions = (await harness.auditEntries()).map((r) => r.action);
    for (const action of ['diagnosis.requested', 'diagnosis.completed', 'repair.approved', 'repair.finished']) {
      assert.ok(actions.includes(action as never), `audit has ${action}: ${actions.join(', ')}`);
    }
  });
});
