import assert from 'node:assert/strict';
import { applyProgress, dryRunMessage, outcomeMessage, runningMessage, stepText } from '../../../../src/slack/blocks/repair';

describe('slack repair blocks', () => {
  const step = { phase: 'step' as const, total: 2, node: '10.0.0.31:6379', message: 'step' };

  it('merges progress events into one line per step, in order', () => {
    let steps = applyProgress([], { phase: 'locking', message: 'lock' });
    assert.deepEqual(steps, []);
    steps = applyProgress(steps, { ...step, index: 1, command: ['CLUSTER', 'BUMPEPOCH'], status: 'running' });
    steps = applyProgress(steps, { ...step, index: 0, command: ['CLUSTER', 'ADDSLOTSRANGE', '0', '10'], status: 'ok', reply: 'OK', ms: 2 });
    steps = applyProgress(steps, { ...step, index: 1, command: ['CLUSTER', 'BUMPEPOCH'], status: 'failed', reply: 'ERR no', ms: 1 });
    assert.deepEqual(steps.map(stepText), [
      '✓ 10.0.0.31:6379> CLUSTER ADDSLOTSRANGE 0 10 → OK (2 ms)',
      '✗ 10.0.0.31:6379> CLUSTER BUMPEPOCH → ERR no (1 ms)',
    ]);
  });

  it('running: who approved, the planned commands until steps report', () => {
    const { blocks } = runningMessage({
      cluster: 'payments',
      plan: { title: 'Fix <it>', steps: [{ node: 'n:1', command: ['PING'] }] },
      approvedBy: 'U0A',
      steps: [],
    });
    const text = JSON.stringify(blocks);
    assert.match(text, /Approved by <@U0A>, running \*Fix &lt;it&gt;\* on \*payments\*/);
    assert.match(text, /n:1&gt; PING/);
  });

  it('outcome: no Re-diagnose button when the final check is ok', () => {
    const ok = outcomeMessage({
      cluster: 'c',
      plan: { title: 't' },
      approvedBy: 'U0A',
      rediagnoseValue: 'v',
      result: { status: 'repaired', planId: 'p', steps: [], durationMs: 1 },
    });
    assert.equal(ok.blocks.filter((b) => b.type === 'actions').length, 0);
    const failed = outcomeMessage({
      cluster: 'c',
      plan: { title: 't' },
      approvedBy: 'U0A',
      rediagnoseValue: 'v',
      result: { status: 'failed', planId: 'p', steps: [], durationMs: 1 },
    });
    assert.equal(failed.blocks.filter((b) => b.type === 'actions').length, 1);
  });

  it('dry run lists preconditions and why each step', () => {
    const { blocks } = dryRunMessage('payments', {
      id: 'p',
      action: 'FORGET_GHOST_NODES',
      title: 'Forget ghost',
      fixes: [],
      risk: 'low',
      executable: true,
      expected: 'gone',
      dataLoss: { slots: [], lastKnownKeys: null, text: 'none' },
      preconditions: ['the ghost is still failed'],
      steps: [{ node: 'n:1', command: ['CLUSTER', 'FORGET', 'abc'], why: 'remove it everywhere' }],
    });
    const text = JSON.stringify(blocks);
    assert.match(text, /CLUSTER FORGET abc {4}# remove it everywhere/);
    assert.match(text, /the ghost is still failed/);
  });
});
