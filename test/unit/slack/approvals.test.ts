import assert from 'node:assert/strict';
import { evaluateApproval, type ApprovalRecord } from '../../../src/slack/approvals';

describe('slack approval policy', () => {
  const plan = {
    id: 'plan-1',
    action: 'PROMOTE_REPLICA' as const,
    title: 'Promote replica 10.0.0.31:6379',
    fixes: ['REPLICA_NOT_PROMOTED'],
    risk: 'medium' as const,
    dataLoss: { slots: [], lastKnownKeys: null, text: 'none' },
    preconditions: [],
    steps: [],
    expected: 'ok',
    executable: true,
  };
  const approval: ApprovalRecord = {
    id: 'a1',
    cluster: 'payments',
    requestedBy: 'U0ASKER',
    channel: 'C1',
    threadTs: '1.1',
    rootTs: '1.1',
    verdict: 'down',
    plans: [plan, { ...plan, id: 'advice', executable: false }],
    createdAt: 1_000_000,
  };
  const policy = { expiryMs: 15 * 60_000, twoPersonRule: true };
  const allowed = { allowed: true, detail: 'listed approver' };
  const base = {
    payload: { kind: 'approve' as const, approvalId: 'a1', cluster: 'payments', planId: 'plan-1' },
    approval,
    user: 'U0APPROVER',
    now: 1_000_000 + 60_000,
    policy,
    approver: allowed,
  };
  const reason = (overrides: Partial<Parameters<typeof evaluateApproval>[0]>) =>
    evaluateApproval({ ...base, ...overrides })?.reason ?? null;

  it('allows an approver within the expiry', () => {
    assert.equal(reason({}), null);
  });

  it('names the first thing wrong, in order', () => {
    assert.equal(reason({ approval: null }), 'unknown_approval');
    assert.equal(reason({ payload: { ...base.payload, cluster: 'cache' } }), 'cluster_mismatch');
    assert.equal(reason({ payload: { ...base.payload, planId: 'nope' } }), 'plan_not_in_approval');
    assert.equal(reason({ payload: { ...base.payload, planId: 'advice' } }), 'plan_not_executable');
    assert.equal(reason({ now: 1_000_000 + 15 * 60_000 + 1 }), 'expired');
    assert.equal(reason({ now: 1_000_000 + 15 * 60_000 + 1, approver: { allowed: false, detail: 'x' } }), 'expired');
    assert.equal(reason({ approver: { allowed: false, detail: 'not in the approvers list' } }), 'not_approver');
    assert.equal(reason({ user: 'U0ASKER' }), 'self_approval');
  });

  it('the two-person rule can be turned off, and does not apply without a requester', () => {
    assert.equal(reason({ user: 'U0ASKER', policy: { ...policy, twoPersonRule: false } }), null);
    assert.equal(reason({ user: 'U0ASKER', approval: { ...approval, requestedBy: null } }), null);
  });

  it('a dry run needs only a matching approval', () => {
    assert.equal(reason({ payload: { ...base.payload, kind: 'dry-run' }, approver: { allowed: false, detail: '' }, now: 9e15 }), null);
    assert.equal(reason({ payload: { ...base.payload, kind: 'dry-run', planId: 'advice' } }), null);
  });

  it('quotes values escaped for mrkdwn', () => {
    const refusal = evaluateApproval({ ...base, approver: { allowed: false, detail: '<script>' } });
    assert.match(refusal!.message, /&lt;script&gt;/);
  });
});
