// Issue 11 §4, two-person rule for monitor incidents: incidents have no requester, so with
// `approvals.highRiskApprovers: 2` a high-risk plan runs only after two distinct approvers, and
// the thread shows "1 of 2 approvals" meanwhile. Signed clicks into the running app.
import assert from 'node:assert/strict';
import { approvalSigningSecret, createApprovalSigner } from '../../../src/repair/approval';
import { eventually } from '../../helpers/cluster';
import { buttonClick, interaction, send } from '../../helpers/slack-requests';
import { buttonsIn, publishWithButtons, samplePlan, SIGNING_SECRET, startHarness, waitForAudit, type Harness } from '../slack/support';

describe('N distinct approvers for high-risk plans (issue 11 §4)', function () {
  this.timeout(20_000);
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  type Published = Awaited<ReturnType<typeof publishWithButtons>>;
  const click = (p: Published, userId: string, button = p.approve) =>
    send(
      interaction(
        h.url,
        SIGNING_SECRET,
        buttonClick({
          actionId: button.actionId,
          value: button.value,
          userId,
          channel: 'C0PAYMENTS',
          messageTs: button.ts!,
          threadTs: p.rootTs,
          responseUrl: `${h.fake.responseUrlBase}${userId}`,
        }),
      ),
    );
  const answerTo = async (userId: string, n = 1): Promise<string> => {
    await eventually(() => h.fake.callsTo(`response_url/response/${userId}`).length >= n, {
      what: `answer ${n} to ${userId}`,
      timeoutMs: 5000,
    });
    return JSON.stringify(h.fake.callsTo(`response_url/response/${userId}`)[n - 1]!.params);
  };

  it('an incident plan of risk high: "1 of 2 approvals" after the first click, runs on the second approver\'s', async () => {
    h = await startHarness({ approvals: { highRiskApprovers: 2 } });
    const p = await publishWithButtons(h, { requestedBy: null, plans: [samplePlan({ risk: 'high' })] });
    assert.match(JSON.stringify(p.fixesCall.params.blocks), /0 of 2 approvals/);

    assert.equal((await click(p, 'U0APPROVER')).status, 200);
    assert.match(await answerTo('U0APPROVER'), /Your approval is recorded\. \*1 of 2 approvals\*: <@U0APPROVER>/);
    const shown = await h.fake.waitFor('chat.update', (c) => c.params.ts === p.approve.ts);
    assert.match(JSON.stringify(shown.params.blocks), /\*1 of 2 approvals\*: <@U0APPROVER>\. Risk high: one more approver's click runs it/);
    assert.ok(buttonsIn([shown]).length > 0, 'the buttons stay for the second approver');
    await waitForAudit(h, 'repair.vote', (r) => r.actor === 'U0APPROVER');

    // The same person again counts once.
    await click(p, 'U0APPROVER');
    assert.match(await answerTo('U0APPROVER', 2), /You have already approved this plan\. \*1 of 2 approvals\*/);
    assert.equal(h.enqueuer.repairs.length, 0, 'nothing queued on one approver');

    await click(p, 'U0OTHER');
    await eventually(() => h.enqueuer.repairs.length === 1, { what: 'the repair to be queued', timeoutMs: 5000 });
    const job = h.enqueuer.repairs[0]!;
    assert.equal(job.approvedBy, 'U0APPROVER+U0OTHER');
    assert.deepEqual(job.approval?.approvers, ['U0APPROVER', 'U0OTHER']);
    assert.ok(createApprovalSigner(approvalSigningSecret(h.config)!).verify(job.approval!), 'signed for both approvers');
    const running = await h.fake.waitFor(
      'chat.update',
      (c) => c.params.ts === p.approve.ts && /running/.test(JSON.stringify(c.params.blocks)),
    );
    assert.match(JSON.stringify(running.params.blocks), /Approved by <@U0APPROVER> and <@U0OTHER>, running/);
    const approved = await waitForAudit(h, 'repair.approved');
    assert.deepEqual(approved.details?.approvers, ['U0APPROVER', 'U0OTHER']);
  });

  it('a plan of lower risk still runs on one click', async () => {
    h = await startHarness({ approvals: { highRiskApprovers: 2 } });
    const p = await publishWithButtons(h, { requestedBy: null, plans: [samplePlan({ risk: 'medium' })] });
    assert.doesNotMatch(JSON.stringify(p.fixesCall.params.blocks), /of 2 approvals/);
    await click(p, 'U0APPROVER');
    await eventually(() => h.enqueuer.repairs.length === 1, { what: 'the repair to be queued', timeoutMs: 5000 });
  });
});
