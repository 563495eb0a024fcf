// The notifier as the workers use it (JobHooks) and as the monitor uses it (DiagnosisPublisher):
// what lands in Slack, where, and that progress edits one message instead of filling the thread.
import assert from 'node:assert/strict';
import type { RepairJobData } from '../../../src/jobs/types';
import { silentLogger } from '../../../src/logging/logger';
import { createSlackNotifier } from '../../../src/slack/notifier';
import type { RepairResult } from '../../../src/repair/types';
import { buttonsIn, publishWithButtons, sampleReport, samplePlan, startHarness, type Harness } from './support';
import type { RecordedCall } from '../../helpers/fake-slack';

describe('slack notifier', function () {
  this.timeout(20_000);
  let h: Harness;
  let clock: number;
  beforeEach(async () => {
    clock = Date.now();
    h = await startHarness({ now: () => clock });
  });
  afterEach(async () => {
    await h.close();
  });
  const text = (call: RecordedCall): string => JSON.stringify(call.params.blocks);
  const origin = { kind: 'slack' as const, channel: 'C0PAYMENTS', user: 'U0ASKER', messageTs: '1700000000.000777' };

  it('onDiagnosisDone edits the root message, then replies in its thread: findings, nodes, fixes', async () => {
    await h.slack.notifier.onDiagnosisDone({ cluster: 'payments', origin }, sampleReport('payments'), 'job-1');
    const root = h.fake.callsTo('chat.update')[0]!;
    assert.equal(root.params.ts, origin.messageTs);
    assert.match(text(root), /payments: DOWN/);
    assert.match(text(root), /Not served:\* 10923-16383/);
    assert.match(text(root), /asked by <@U0ASKER>/);
    const replies = h.fake.callsTo('chat.postMessage');
    assert.ok(replies.every((r) => r.params.thread_ts === origin.messageTs && r.params.channel === 'C0PAYMENTS'));
    assert.match(text(replies[0]!), /Findings/);
    assert.match(text(replies[0]!), /MASTER_DOWN_NO_REPLICA/);
    assert.match(text(replies[0]!), /```/, 'evidence in a code block');
    assert.match(text(replies[1]!), /NODE +ID +ROLE/);
    assert.equal(buttonsIn([replies[2]!]).length, 2);
    const last = JSON.parse((await h.redis.hget(`${h.prefix}:slack:last-state`, 'payments')) ?? 'null') as { verdict: string; ts: string };
    assert.equal(last.verdict, 'down');
    assert.equal(last.ts, origin.messageTs);
  });

  it('a diagnosis without fixes says so, and stores no approval', async () => {
    await h.slack.notifier.onDiagnosisDone({ cluster: 'payments', origin }, sampleReport('payments', []), 'job-1');
    const replies = h.fake.callsTo('chat.postMessage');
    assert.match(text(replies[replies.length - 1]!), /No automatic fix applies/);
    assert.deepEqual(await h.redis.keys(`${h.prefix}:slack:approval:*`), []);
  });

  it('prevention checks (audit) show only risk findings, and only plans for risks', async () => {
    await h.redis.set(
      `${h.prefix}:slack:request:C0PAYMENTS:${origin.messageTs}`,
      JSON.stringify({ kind: 'audit', requestedBy: 'U0ASKER' }),
    );
    await h.slack.notifier.onDiagnosisDone({ cluster: 'payments', origin }, sampleReport('payments'), 'job-1');
    assert.match(text(h.fake.callsTo('chat.update')[0]!), /Prevention checks: payments/);
    const replies = h.fake.callsTo('chat.postMessage');
    assert.ok(!replies.some((r) => /MASTER_DOWN_NO_REPLICA`/.test(text(r)) && /Findings/.test(text(r))), 'no fault findings');
    assert.equal(buttonsIn(replies).length, 0, 'the fault plan is not offered');
  });

  it('thread-only (incident threads): everything goes into the given thread, the root is not touched', async () => {
    const result = await h.slack.notifier.publishDiagnosis({
      report: sampleReport('payments'),
      target: { channel: 'C0INC', threadTs: '1700000000.000100' },
      requestedBy: null,
      mode: 'thread-only',
    });
    assert.equal(h.fake.callsTo('chat.update').length, 0);
    const posts = h.fake.callsTo('chat.postMessage');
    assert.ok(posts.every((p) => p.params.thread_ts === '1700000000.000100'));
    assert.equal(result.ts, posts[0]!.response!.ts);
    assert.doesNotMatch(text(posts[0]!), /asked by/);
  });

  it('posts a new root when the "Diagnosing..." message is gone', async () => {
    h.fake.failNext('chat.update', 'message_not_found');
    const result = await h.slack.notifier.publishDiagnosis({
      report: sampleReport('payments'),
      target: { channel: 'C0PAYMENTS', messageTs: '1.2' },
      requestedBy: 'U0ASKER',
      mode: 'full',
    });
    const posts = h.fake.callsTo('chat.postMessage');
    assert.equal(posts[0]!.params.thread_ts, undefined);
    assert.equal(result.ts, posts[0]!.response!.ts);
    assert.ok(posts.slice(1).every((p) => p.params.thread_ts === result.ts));
  });

  it('diagnosis progress edits the root message, at most once a second', async () => {
    await h.slack.notifier.onDiagnoseProgress({ cluster: 'payments', origin }, 'asked 3 of 6 nodes');
    await h.slack.notifier.onDiagnoseProgress({ cluster: 'payments', origin }, 'asked 4 of 6 nodes');
    clock += 1500;
    await h.slack.notifier.onDiagnoseProgress({ cluster: 'payments', origin }, 'asked 6 of 6 nodes');
    const edits = h.fake.callsTo('chat.update');
    assert.equal(edits.length, 2);
    assert.ok(edits.every((e) => e.params.ts === origin.messageTs));
    assert.match(text(edits[1]!), /asked 6 of 6 nodes/);
    assert.equal(h.fake.callsTo('chat.postMessage').length, 0);
  });

  it('in a worker process without the app, it makes its own client from the config', async () => {
    const notifier = createSlackNotifier({ config: h.config, logger: silentLogger, redis: h.redis, audit: h.audit });
    await notifier.onDiagnosisFailed({ cluster: 'payments', origin }, 'boom', 'job-1');
    const edit = await h.fake.waitFor('chat.update');
    assert.equal(edit.token, 'test-bot-token');
  });

  it('a failed diagnosis edits the root with the error and a Re-diagnose button', async () => {
    await h.slack.notifier.onDiagnosisFailed(
      { cluster: 'payments', origin },
      'no node of payments answered:\n  127.0.0.1:7001: connection refused',
      'job-1',
    );
    const edit = h.fake.callsTo('chat.update')[0]!;
    assert.match(text(edit), /Could not diagnose payments/);
    assert.match(text(edit), /connection refused/);
    assert.equal(buttonsIn([edit])[0]!.actionId, 'redis_medic.rediagnose');
  });

  describe('repair hooks', () => {
    const repairData = (p: Awaited<ReturnType<typeof publishWithButtons>>): RepairJobData => ({
      cluster: 'payments',
      planId: p.plans[0]!.id,
      approvalId: (JSON.parse(p.approve.value) as { a: string }).a,
      approvedBy: 'U0APPROVER',
      origin: { kind: 'slack', channel: 'C0PAYMENTS', user: 'U0APPROVER', messageTs: p.approve.ts!, threadTs: p.rootTs },
    });

    it('each step edits the buttons message; the outcome is one reply, the root shows the final state', async () => {
      const p = await publishWithButtons(h);
      const data = repairData(p);
      const before = h.fake.callsTo('chat.postMessage').length;
      const step = { phase: 'step' as const, total: 2, node: '127.0.0.1:31000', message: 'running' };
      await h.slack.notifier.onRepairProgress(data, { phase: 'locking', message: 'taking the repair lock' });
      await h.slack.notifier.onRepairProgress(data, {
        ...step,
        index: 0,
        command: ['CLUSTER', 'ADDSLOTSRANGE', '10923', '16383'],
        status: 'running',
      });
      await h.slack.notifier.onRepairProgress(data, {
        ...step,
        index: 0,
        command: ['CLUSTER', 'ADDSLOTSRANGE', '10923', '16383'],
        status: 'ok',
        reply: 'OK',
        ms: 3,
      });
      await h.slack.notifier.onRepairProgress(data, {
        ...step,
        index: 1,
        command: ['CLUSTER', 'BUMPEPOCH'],
        status: 'ok',
        reply: 'BUMPED 4',
        ms: 1,
      });
      const edits = h.fake.callsTo('chat.update').filter((c) => c.params.ts === p.approve.ts);
      assert.equal(edits.length, 4);
      assert.match(text(edits[3]!), /✓ 127\.0\.0\.1:31000&gt; CLUSTER ADDSLOTSRANGE 10923 16383 → OK \(3 ms\)/);
      assert.match(text(edits[3]!), /✓ 127\.0\.0\.1:31000&gt; CLUSTER BUMPEPOCH → BUMPED 4 \(1 ms\)/);
      assert.equal(h.fake.callsTo('chat.postMessage').length, before, 'no thread spam while it runs');

      const healthy = {
        ...sampleReport('payments', []),
        verdict: 'ok' as const,
        primary: null,
        findings: [],
        coverage: { assigned: 16384, ok: 16384, pfail: 0, fail: 0, uncovered: [], servedByFailedMaster: [], unassigned: [] },
      };
      const result: RepairResult = {
        status: 'repaired',
        planId: data.planId,
        durationMs: 812,
        finalReport: healthy,
        steps: [
          { node: '127.0.0.1:31000', command: ['CLUSTER', 'ADDSLOTSRANGE', '10923', '16383'], reply: 'OK', ok: true, ms: 3 },
          { node: '127.0.0.1:31000', command: ['CLUSTER', 'BUMPEPOCH'], reply: 'BUMPED 4', ok: true, ms: 1 },
        ],
      };
      await h.slack.notifier.onRepairDone(data, result, 'job-r');
      const outcome = h.fake.callsTo('chat.postMessage').slice(before);
      assert.equal(outcome.length, 1);
      assert.equal(outcome[0]!.params.thread_ts, p.rootTs);
      assert.match(text(outcome[0]!), /Repaired/);
      assert.match(text(outcome[0]!), /approved by <@U0APPROVER>, in 812 ms/);
      assert.match(text(outcome[0]!), /Final check:\* :large_green_circle: \*OK\*/);
      assert.equal(buttonsIn(outcome).length, 0, 'nothing left to do');
      const rootEdit = h.fake
        .callsTo('chat.update')
        .filter((c) => c.params.ts === p.rootTs)
        .pop()!;
      assert.match(text(rootEdit), /payments: OK/);
      assert.match(text(rootEdit), /repaired: Give slots 10923-16383/);
      assert.match(
        text(
          h.fake
            .callsTo('chat.update')
            .filter((c) => c.params.ts === p.approve.ts)
            .pop()!,
        ),
        /Repaired.*approved by <@U0APPROVER> \(2 steps/,
      );
    });

    it('a failed repair says what ran, which step failed, and offers Re-diagnose', async () => {
      const p = await publishWithButtons(h);
      const data = repairData(p);
      await h.slack.notifier.onRepairDone(
        data,
        {
          status: 'failed',
          planId: data.planId,
          durationMs: 40,
          reason: 'step 1 failed: ERR Slot 10923 is already busy',
          steps: [
            {
              node: '127.0.0.1:31000',
              command: ['CLUSTER', 'ADDSLOTSRANGE', '10923', '16383'],
              reply: 'ERR Slot 10923 is already busy',
              ok: false,
              ms: 2,
            },
          ],
        },
        'job-r',
      );
      const outcome = h.fake.callsTo('chat.postMessage').pop()!;
      assert.match(text(outcome), /Repair failed/);
      assert.match(text(outcome), /✗ 127\.0\.0\.1:31000&gt; CLUSTER ADDSLOTSRANGE 10923 16383 → ERR Slot 10923 is already busy/);
      assert.match(text(outcome), /the step on 127\.0\.0\.1:31000 failed and nothing after it ran/);
      assert.equal(buttonsIn([outcome])[0]!.actionId, 'redis_medic.rediagnose');
    });

    it('a refused repair says nothing ran and what to do', async () => {
      const p = await publishWithButtons(h);
      await h.slack.notifier.onRepairDone(
        repairData(p),
        { status: 'refused', planId: p.plans[0]!.id, durationMs: 5, reason: 'the cluster changed since the diagnosis', steps: [] },
        'job-r',
      );
      const outcome = h.fake.callsTo('chat.postMessage').pop()!;
      assert.match(text(outcome), /Repair refused/);
      assert.match(text(outcome), /No command was run/);
      assert.match(text(outcome), /re-diagnose and approve the fresh plan/);
    });
  });

  it('keeps every message within Slack limits for a big cluster with long evidence', async () => {
    const report = sampleReport(
      'payments',
      Array.from({ length: 30 }, (_, i) =>
        samplePlan({
          title: `Plan ${i} ${'x'.repeat(200)}`,
          steps: Array.from({ length: 40 }, (_, j) => ({ node: `10.0.${i}.${j}:6379`, command: ['CLUSTER', 'FORGET', 'f'.repeat(40)] })),
        }),
      ),
    );
    const node = report.nodes[0]!;
    report.nodes = Array.from({ length: 400 }, (_, i) => ({
      ...node,
      id: `${String(i).padStart(8, '0')}${node.id.slice(8)}`,
      addr: `10.1.${Math.floor(i / 250)}.${i % 250}:6379`,
    }));
    report.findings = Array.from({ length: 35 }, (_, i) => ({
      ...report.findings[0]!,
      title: `finding ${i} <&>`,
      evidence: Array.from({ length: 200 }, (_, j) => `[10.0.0.${j}:6379] ${'line '.repeat(20)}`),
    }));
    await h.slack.notifier.publishDiagnosis({ report, target: { channel: 'C0PAYMENTS' }, requestedBy: 'U0ASKER', mode: 'full' });
    for (const call of [...h.fake.callsTo('chat.postMessage'), ...h.fake.callsTo('chat.update')]) {
      const blocks = call.params.blocks as Array<Record<string, any>>;
      assert.ok(blocks.length <= 50, `${blocks.length} blocks`);
      for (const block of blocks) {
        if (block.type === 'section') assert.ok(block.text.text.length <= 3000, `section of ${block.text.text.length} chars`);
        if (block.type === 'header') assert.ok(block.text.text.length <= 150);
        if (block.type === 'actions') {
          for (const el of block.elements) {
            assert.ok(el.text.text.length <= 75, 'button text');
            assert.ok(el.value.length <= 2000, 'button value');
            if (el.confirm) assert.ok(el.confirm.text.text.length <= 300, `confirm text of ${el.confirm.text.text.length}`);
          }
        }
      }
    }
    assert.ok(!h.fake.callsTo('chat.postMessage').some((c) => /finding 0 <&>/.test(text(c))), 'titles are escaped');
  });
});
