// The incident thread's buttons are always the current ones: when the offered plans change the
// fix message is edited in place, and a click on a superseded button runs nothing and points to
// the current ones. When the findings change, a new diagnosis is posted and the old fix message
// loses its buttons. Real cluster, real queue Redis, signed clicks into the real app.
import assert from 'node:assert/strict';
import type { MonitorJobData } from '../../../src/jobs/types';
import { queueKeys } from '../../../src/queue-keys';
import { createApprovalStore } from '../../../src/slack/approvals';
import { eventually } from '../../helpers/cluster';
import type { RecordedCall } from '../../helpers/fake-slack';
import { useHarness } from '../../helpers/harness';
import { buttonsIn, clickIn, responses, startHarness } from '../slack/support';
import { isIncidentRoot, monitorProcess } from './harness';

const CHANNEL = 'C0INCIDENTS';
const POLL: MonitorJobData = { cluster: 'orders', reason: 'schedule' };

/**
 * The app with its workers and a monitor on a 3-master cluster, one master killed: the incident
 * is open, and its thread has its root and the fix message with buttons.
 */
async function openedWithFixes(t: ReturnType<typeof useHarness>) {
  const c = t.cluster();
  const harness = t.track(await startHarness({ clusters: [{ name: 'orders', seeds: c.seeds, channel: CHANNEL }], workers: true }));
  const { monitor } = t.track(monitorProcess(harness.config, { redis: harness.redis }));
  const [a, b, victim] = c.masters();
  await c.kill(victim!);
  assert.equal((await monitor.poll(POLL)).incident?.action, 'opened');
  const root = await harness.fake.waitFor('chat.postMessage', isIncidentRoot, 5000);
  const rootTs = root.response!.ts as string;
  const fixes = await harness.fake.waitFor('chat.postMessage', (m) => m.params.thread_ts === rootTs && buttonsIn([m]).length > 0, 5000);
  return { c, harness, monitor, a: a!, b: b!, rootTs, fixes };
}

describe('incident thread: the fix message follows the offered plans', function () {
  this.timeout(60_000);
  const t = useHarness({ cluster: { masters: 3 } });

  const blocksOf = (call: RecordedCall): string => JSON.stringify(call.params.blocks);

  it('plans change, findings do not: the fix message is edited in place; an old button answers with a pointer; new findings retire the old buttons', async () => {
    const { c, harness, monitor, a, b, rootTs, fixes } = await openedWithFixes(t);
    const fixesTs = fixes.response!.ts as string;
    const oldPartial = buttonsIn([fixes]).find((x) => x.actionId.startsWith('redis_medic.approve') && /Temporarily serve/.test(x.text));
    assert.ok(oldPartial, `a partial-coverage button in ${blocksOf(fixes)}`);
    const repliesBefore = harness.fake.callsTo('chat.postMessage').filter((m) => m.params.thread_ts === rootTs).length;

    // Someone sets the coverage option on the live nodes by hand: a risk changes, no fault does;
    // the partial-coverage plan is not offered any more.
    await Promise.all([a, b].map((n) => c.client(n).call('CONFIG', 'SET', 'cluster-require-full-coverage', 'no')));
    await c.waitFor((infos) => [...infos.values()].every((info) => info.includes('cluster_state:ok')), {
      what: 'both live nodes to serve again',
    });
    const second = await monitor.poll(POLL);
    assert.deepEqual(second.thread?.steps, ['refresh-fixes'], JSON.stringify(second));
    const edit = harness.fake.callsTo('chat.update').find((m) => m.params.ts === fixesTs && buttonsIn([m]).length > 0);
    assert.ok(edit, 'the fix message was edited in place');
    const approves = buttonsIn([edit]).filter((x) => x.actionId.startsWith('redis_medic.approve'));
    assert.deepEqual(
      approves.map((x) => x.text.slice(0, 22)),
      ['Approve: Assign slots '],
      'only the plans offered now',
    );
    const oldAssign = buttonsIn([fixes]).find((x) => x.actionId.startsWith('redis_medic.approve') && /Assign slots/.test(x.text))!;
    assert.notEqual(approves[0]!.value, oldAssign.value, 'with buttons of a new approval');
    assert.equal(
      harness.fake.callsTo('chat.postMessage').filter((m) => m.params.thread_ts === rootTs).length,
      repliesBefore,
      'no new reply for the same findings',
    );

    // A stale screen still shows the old button: the click runs nothing and points to the new message.
    const stale = await clickIn(harness, oldPartial, { channel: CHANNEL, ts: fixesTs, threadTs: rootTs }, 'stale');
    assert.equal(stale.status, 200);
    await harness.fake.waitFor('response_url/response/stale', () => true, 5000);
    const answer = JSON.stringify(responses(harness).find((r) => r.method === 'response_url/response/stale')!.params);
    assert.match(answer, /replaced: nothing ran/);
    assert.match(answer, new RegExp(`archives/${CHANNEL}/p${fixesTs.replace('.', '')}`), 'with a link to the current fix message');
    assert.equal(harness.enqueuer.repairs.length, 0, 'nothing was queued');

    // The findings change (a second master dies: quorum lost): a new diagnosis, the old buttons retired.
    await c.kill(b);
    let third = await monitor.poll(POLL);
    for (let i = 0; i < 20 && !third.thread?.steps.includes('diagnosis'); i++) third = await monitor.poll(POLL);
    assert.ok(third.thread?.steps.includes('retire'), JSON.stringify(third.thread));
    const retired = harness.fake
      .callsTo('chat.update')
      .filter((m) => m.params.ts === fixesTs)
      .pop()!;
    assert.equal(buttonsIn([retired]).length, 0, 'the old fix message has no buttons any more');
    assert.match(blocksOf(retired), /Superseded/);
    const newFixes = harness.fake
      .callsTo('chat.postMessage')
      .filter((m) => m.params.thread_ts === rootTs && buttonsIn([m]).length > 0)
      .pop()!;
    assert.notEqual(newFixes.response!.ts, fixesTs);
    assert.match(blocksOf(retired), new RegExp(`p${String(newFixes.response!.ts).replace('.', '')}`), 'pointing to the new one');
  });
});

describe('incident thread: plans offered after a repair whose worker died', function () {
  this.timeout(60_000);
  const t = useHarness({ cluster: { masters: 3 } });

  it('plans change while the repair lock of an approved plan is held (its worker died): the new plans are offered once the lock lapses', async () => {
    const { c, harness, monitor, a, b, rootTs } = await openedWithFixes(t);
    const offered = (await monitor.store.getIncident('orders'))!.record.fixes!;

    // Someone approved from the fix message, and the worker running it died holding the repair lock.
    const prefix = harness.config.queue.prefix;
    const approvals = createApprovalStore(harness.redis, prefix, harness.config.approvals.expiryMs);
    assert.deepEqual(await approvals.claim(offered.approvalId, { user: 'U0APPROVER', planId: offered.plans[0]!, at: Date.now() }), {
      claimed: true,
    });
    const lock = queueKeys(prefix).repairLock('orders');
    await harness.redis.set(
      lock,
      JSON.stringify({ token: 'dead', actor: 'U0APPROVER', planId: offered.plans[0], since: 'then' }),
      'PX',
      60_000,
    );

    // The plans change, the findings do not (as in the test above).
    await Promise.all([a, b].map((n) => c.client(n).call('CONFIG', 'SET', 'cluster-require-full-coverage', 'no')));
    await c.waitFor((infos) => [...infos.values()].every((info) => info.includes('cluster_state:ok')), {
      what: 'both live nodes to serve again',
    });
    const held = await monitor.poll(POLL);
    assert.match(held.thread?.stalled ?? '', /^refresh-fixes: a repair holds the repair lock/, JSON.stringify(held));
    const fixMessages = (): RecordedCall[] =>
      harness.fake.callsTo('chat.postMessage').filter((m) => m.params.thread_ts === rootTs && buttonsIn([m]).length > 0);
    assert.equal(fixMessages().length, 1, 'nothing new is offered while the lock is held');

    // The dead worker's lock lapses: the next poll offers the current plans below the approved message.
    await harness.redis.pexpire(lock, 1);
    await eventually(async () => (await harness.redis.exists(lock)) === 0, { what: 'the lock to lapse' });
    const after = await monitor.poll(POLL);
    assert.deepEqual(after.thread?.steps, ['refresh-fixes'], JSON.stringify(after));
    const current = fixMessages();
    assert.equal(current.length, 2, 'a new fix message');
    assert.deepEqual(
      buttonsIn([current[1]!])
        .filter((x) => x.actionId.startsWith('redis_medic.approve'))
        .map((x) => x.text.slice(0, 22)),
      ['Approve: Assign slots '],
      'with the plans offered now',
    );
  });
});
