// Approve-to-fix buttons over HTTP: signed clicks into the running app, approval state in the
// queue Redis, the real job system's queues to count what was enqueued.
import assert from 'node:assert/strict';
import { createButtonSigner } from '../../../src/slack/button-value';
import { eventually } from '../../helpers/cluster';
import { buttonClick, interaction, send } from '../../helpers/slack-requests';
import {
  APPROVAL_SECRET,
  buttonsIn,
  publishWithButtons,
  responses,
  SIGNING_SECRET,
  startHarness,
  waitForAudit,
  type Harness,
} from './support';

describe('slack approvals', function () {
  this.timeout(20_000);
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  type Published = Awaited<ReturnType<typeof publishWithButtons>>;
  const click = (
    p: Published,
    userId: string,
    options: { value?: string; actionId?: string; responsePath?: string; timestamp?: number } = {},
  ) =>
    send(
      interaction(
        h.url,
        SIGNING_SECRET,
        buttonClick({
          actionId: options.actionId ?? p.approve.actionId,
          value: options.value ?? p.approve.value,
          userId,
          channel: 'C0PAYMENTS',
          messageTs: p.approve.ts!,
          threadTs: p.rootTs,
          responseUrl: `${h.fake.responseUrlBase}${options.responsePath ?? userId}`,
        }),
        options.timestamp !== undefined ? { timestamp: options.timestamp } : {},
      ),
    );

  const refusalTo = async (userId: string): Promise<string> =>
    JSON.stringify((await h.fake.waitFor(`response_url/response/${userId}`)).params);

  describe('with a fresh diagnosis', () => {
    let p: Published;
    beforeEach(async () => {
      h = await startHarness();
      p = await publishWithButtons(h, { requestedBy: 'U0ASKER' });
    });

    it('shows each fix as "Approve: <title>" with a confirm dialog listing the exact commands and the data loss', () => {
      assert.equal(p.approve.text, `Approve: ${p.plans[0]!.title}`);
      const confirm = p.approve.confirm as { text: { text: string }; style?: string };
      assert.match(confirm.text.text, /127\.0\.0\.1:31000> CLUSTER ADDSLOTSRANGE 10923 16383/);
      assert.match(confirm.text.text, /127\.0\.0\.1:31000> CLUSTER BUMPEPOCH/);
      assert.match(confirm.text.text, /Data loss: The 120 keys/);
      assert.equal(confirm.style, 'danger');
      assert.ok(p.dryRun, 'a Show commands button');
    });

    it("an approver's click queues the repair once, edits the buttons away and audits the approval", async () => {
      const res = await click(p, 'U0APPROVER');
      assert.equal(res.status, 200);
      const edit = await h.fake.waitFor('chat.update', (c) => c.params.ts === p.approve.ts);
      assert.match(JSON.stringify(edit.params.blocks), /Approved by <@U0APPROVER>, running/);
      assert.equal(buttonsIn([edit]).length, 0);
      await eventually(async () => (await h.jobs.queues.repair.count()) === 1, { what: 'one repair job', timeoutMs: 5000 });
      const job = h.enqueuer.repairs[0]!;
      assert.equal(job.planId, p.plans[0]!.id);
      assert.equal(job.approvedBy, 'U0APPROVER');
      assert.deepEqual(job.origin, {
        kind: 'slack',
        channel: 'C0PAYMENTS',
        user: 'U0APPROVER',
        messageTs: p.approve.ts,
        threadTs: p.rootTs,
        responseUrl: `${h.fake.responseUrlBase}U0APPROVER`,
      });
      const approved = await waitForAudit(h, 'repair.approved');
      assert.equal(approved.actor, 'U0APPROVER');
      assert.equal(approved.details?.requestedBy, 'U0ASKER');
    });

    it('refuses a non-approver: ephemeral "not allowed", an audit entry, nothing queued', async () => {
      await click(p, 'U0STRANGER');
      assert.match(
        await refusalTo('U0STRANGER'),
        /Not allowed: You are not allowed to approve repairs of payments \(not in the approvers list\)/,
      );
      const refused = await waitForAudit(h, 'repair.refused');
      assert.equal(refused.details?.reason, 'not_approver');
      assert.equal(h.enqueuer.repairs.length, 0);
      assert.equal(await h.jobs.queues.repair.count(), 0);
      assert.equal(h.fake.callsTo('chat.update').length, 0);
    });

    it('refuses self-approval under the two-person rule', async () => {
      await click(p, 'U0ASKER');
      assert.match(await refusalTo('U0ASKER'), /Two-person rule/);
      assert.equal((await waitForAudit(h, 'repair.refused')).details?.reason, 'self_approval');
      assert.equal(h.enqueuer.repairs.length, 0);
    });

    it('20 concurrent clicks on one button queue exactly one repair', async () => {
      const users = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'U0APPROVER' : 'U0OTHER'));
      const results = await Promise.all(users.map((u, i) => click(p, u, { responsePath: `click-${i}` })));
      assert.ok(
        results.every((r) => r.status === 200),
        'every click acked',
      );
      await eventually(async () => (await h.auditEntries('repair.refused')).length === 19, { what: '19 refusals', timeoutMs: 5000 });
      assert.equal((await h.auditEntries('repair.approved')).length, 1);
      assert.equal(h.enqueuer.repairs.length, 1);
      assert.equal(await h.jobs.queues.repair.count(), 1);
      const refusals = await h.auditEntries('repair.refused');
      assert.ok(refusals.every((r) => r.details?.reason === 'already_approved'));
      await eventually(() => responses(h).length === 19, { what: '19 ephemeral answers', timeoutMs: 5000 });
      assert.match(JSON.stringify(responses(h)[0]!.params), /Already approved by <@U0/);
    });

    it('refuses an altered value: another plan id, or another cluster, keeps the signature and fails it', async () => {
      const wire = JSON.parse(p.approve.value) as Record<string, string>;
      await click(p, 'U0APPROVER', { value: JSON.stringify({ ...wire, p: 'plan-of-my-choice' }), responsePath: 'alt-plan' });
      await click(p, 'U0APPROVER', { value: JSON.stringify({ ...wire, c: 'cache' }), responsePath: 'alt-cluster' });
      await click(p, 'U0APPROVER', { value: 'garbage', responsePath: 'garbage' });
      for (const path of ['alt-plan', 'alt-cluster', 'garbage']) {
        assert.match(JSON.stringify((await h.fake.waitFor(`response_url/response/${path}`)).params), /altered or is not one of ours/);
      }
      await eventually(async () => (await h.auditEntries('repair.refused')).filter((r) => r.details?.reason === 'bad_value').length === 3, {
        what: '3 bad_value refusals',
        timeoutMs: 5000,
      });
      assert.equal(h.enqueuer.repairs.length, 0);
    });

    it('refuses a correctly signed value that names another cluster than its approval', async () => {
      const signer = createButtonSigner(APPROVAL_SECRET);
      const genuine = signer.verify(p.approve.value);
      assert.equal(genuine.kind, 'approve');
      if (genuine.kind !== 'approve') return;
      const forged = signer.sign({ ...genuine, cluster: 'cache' });
      await click(p, 'U0APPROVER', { value: forged, responsePath: 'forged' });
      assert.match(
        JSON.stringify((await h.fake.waitFor('response_url/response/forged')).params),
        /names cluster cache, but its diagnosis is of payments/,
      );
      assert.equal((await waitForAudit(h, 'repair.refused')).details?.reason, 'cluster_mismatch');
      const otherPlan = signer.sign({ ...genuine, planId: 'plan-not-in-this-approval' });
      await click(p, 'U0APPROVER', { value: otherPlan, responsePath: 'other-plan' });
      assert.match(JSON.stringify((await h.fake.waitFor('response_url/response/other-plan')).params), /not part of this diagnosis/);
      assert.equal(h.enqueuer.repairs.length, 0);
    });

    it('when the repair cannot be queued: the claim and the buttons come back, and a later click works', async () => {
      h.enqueuer.failNextRepair = true;
      await click(p, 'U0APPROVER', { responsePath: 'first' });
      assert.match(
        JSON.stringify((await h.fake.waitFor('response_url/response/first')).params),
        /Could not queue the repair .*Nothing ran/,
      );
      const restored = await h.fake.waitFor('chat.update', (c) => c.params.ts === p.approve.ts && buttonsIn([c]).length > 0);
      assert.ok(restored);
      assert.equal((await waitForAudit(h, 'repair.refused')).details?.reason, 'queue_unavailable');
      await click(p, 'U0APPROVER', { responsePath: 'second' });
      await eventually(async () => (await h.jobs.queues.repair.count()) === 1, {
        what: 'one repair job on the second click',
        timeoutMs: 5000,
      });
    });

    it('a queue failure whose message carries mrkdwn reaches the approver escaped: no ping, no link (issue 11)', async () => {
      h.enqueuer.failNextRepair = 'READONLY <!channel> see <https://evil.example/login|the runbook> *now*';
      await click(p, 'U0APPROVER', { responsePath: 'hostile' });
      const sent = JSON.stringify((await h.fake.waitFor('response_url/response/hostile')).params);
      assert.match(sent, /Could not queue the repair/);
      assert.match(sent, /&lt;!channel&gt;/, sent);
      assert.doesNotMatch(sent, /<!channel>|<https:\/\/evil/, sent);
    });

    it('the app restarted between the diagnosis and the click: the click still works', async () => {
      await h.restart();
      await click(p, 'U0APPROVER');
      await eventually(async () => (await h.jobs.queues.repair.count()) === 1, {
        what: 'one repair job after the restart',
        timeoutMs: 5000,
      });
      await h.fake.waitFor('chat.update', (c) => c.params.ts === p.approve.ts);
    });

    it('"Show commands" answers the whole plan to the clicker only, and runs nothing', async () => {
      await click(p, 'U0STRANGER', { value: p.dryRun.value, actionId: p.dryRun.actionId, responsePath: 'dry' });
      const reply = await h.fake.waitFor('response_url/response/dry');
      assert.equal(reply.params.response_type, 'ephemeral');
      const text = JSON.stringify(reply.params.blocks);
      assert.match(text, /Dry run\* \(nothing was run\)/);
      assert.match(text, /127\.0\.0\.1:31000&gt; CLUSTER ADDSLOTSRANGE 10923 16383/);
      assert.equal(h.enqueuer.repairs.length, 0);
    });

    it('"Re-diagnose" posts a new root message and queues a diagnosis of the button\'s cluster', async () => {
      const signer = createButtonSigner(APPROVAL_SECRET);
      await click(p, 'U0OTHER', { value: signer.sign({ kind: 'rediagnose', cluster: 'payments' }), actionId: 'redis_medic.rediagnose' });
      await eventually(() => h.enqueuer.diagnoses.length === 1, { what: 'a diagnosis to be queued', timeoutMs: 5000 });
      assert.equal(h.enqueuer.diagnoses[0]!.cluster, 'payments');
      assert.equal(h.enqueuer.diagnoses[0]!.origin.kind === 'slack' && h.enqueuer.diagnoses[0]!.origin.user, 'U0OTHER');
    });
  });

  it('an approval older than the expiry answers "expired, re-diagnose" with a button for it', async () => {
    let clock = Date.now();
    h = await startHarness({ now: () => clock });
    const p = await publishWithButtons(h);
    clock += 16 * 60 * 1000;
    await click(p, 'U0APPROVER', { timestamp: Math.floor(clock / 1000) });
    const reply = await h.fake.waitFor('response_url/response/U0APPROVER');
    assert.match(JSON.stringify(reply.params.blocks), /Expired, re-diagnose/);
    const rediagnose = buttonsIn([reply]).find((b) => b.actionId === 'redis_medic.rediagnose');
    assert.ok(rediagnose, 'a Re-diagnose button');
    assert.equal((await waitForAudit(h, 'repair.refused')).details?.reason, 'expired');
    assert.equal(h.enqueuer.repairs.length, 0);
  });

  it('members of an approver user group may approve (usergroups.users.list)', async () => {
    h = await startHarness({ approvals: { users: [], usergroups: ['S0ONCALL'] } });
    h.fake.usergroups.S0ONCALL = ['U0ONCALL'];
    const p = await publishWithButtons(h);
    await click(p, 'U0ONCALL');
    await eventually(async () => (await h.jobs.queues.repair.count()) === 1, { what: 'one repair job', timeoutMs: 5000 });
    assert.equal((await waitForAudit(h, 'repair.approved')).details?.via, 'member of user group S0ONCALL');
    await click(p, 'U0NOTMEMBER', { responsePath: 'nm' });
    assert.match(JSON.stringify((await h.fake.waitFor('response_url/response/nm')).params), /not in the approvers list/);
  });

  it('fails closed when Slack cannot list a user group', async () => {
    h = await startHarness({ approvals: { users: [], usergroups: ['S0GONE'] } });
    const p = await publishWithButtons(h);
    await click(p, 'U0ONCALL');
    assert.match(
      JSON.stringify((await h.fake.waitFor('response_url/response/U0ONCALL')).params),
      /could not check user group S0GONE with Slack/,
    );
    assert.equal(h.enqueuer.repairs.length, 0);
  });

  it("the monitor's diagnoses (no requester) can be approved by anyone listed", async () => {
    h = await startHarness();
    const p = await publishWithButtons(h, { requestedBy: null });
    await click(p, 'U0ASKER');
    await eventually(async () => (await h.jobs.queues.repair.count()) === 1, { what: 'one repair job', timeoutMs: 5000 });
  });
});
