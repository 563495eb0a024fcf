import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parsePaste } from '../../../../src/cluster/parse-paste';
import { analyseSnapshot } from '../../../../src/engine';
import type { FixPlan, PlannedReport } from '../../../../src/repair/types';
import {
  confirmDialog,
  findingsMessages,
  fixesMessage,
  nodeTableMessages,
  offlineFixesMessage,
  rootMessage,
} from '../../../../src/slack/blocks/diagnosis';

function report(): PlannedReport {
  const text = fs.readFileSync(path.join(__dirname, '../../../fixtures/cluster-nodes/master-fail-no-replica.txt'), 'utf8');
  const r = analyseSnapshot(parsePaste(text, 'payments')).report;
  delete r.offline;
  delete r.limitations;
  return r;
}

const plan = (overrides: Partial<FixPlan> = {}): FixPlan => ({
  id: 'plan-1',
  action: 'PROMOTE_REPLICA',
  title: 'Promote replica 10.0.0.31:6379',
  fixes: ['REPLICA_NOT_PROMOTED'],
  risk: 'high',
  dataLoss: { slots: [], lastKnownKeys: null, text: 'Writes not yet replicated to 10.0.0.31:6379 are lost.' },
  preconditions: [],
  steps: [{ node: '10.0.0.31:6379', command: ['CLUSTER', 'FAILOVER', 'TAKEOVER'] }],
  expected: 'ok',
  executable: true,
  ...overrides,
});

const values = { approve: (p: FixPlan) => `approve:${p.id}`, dryRun: (p: FixPlan) => `dry:${p.id}` };
const texts = (blocks: unknown[]): string => JSON.stringify(blocks);

describe('slack diagnosis blocks', () => {
  it('root: verdict header, root cause with its code, what is not served, who asked', () => {
    const { blocks } = rootMessage(report(), { kind: 'diagnose', requestedBy: 'U0ASKER' });
    assert.deepEqual(blocks[0], { type: 'header', text: { type: 'plain_text', text: 'payments: DOWN', emoji: true } });
    assert.match(texts(blocks), /Root cause:\*.*`MASTER_DOWN_NO_REPLICA`/);
    assert.match(texts(blocks), /Not served:\* 10923-16383 \(5461 of 16384 slots\)/);
    assert.match(texts(blocks), /asked by <@U0ASKER>/);
  });

  it('root of prevention checks names the risks, not the root cause', () => {
    const { blocks } = rootMessage(report(), { kind: 'audit', requestedBy: null });
    assert.match(texts(blocks), /Prevention checks: payments/);
    assert.doesNotMatch(texts(blocks), /Root cause/);
  });

  it('findings: one block for the text, one code block of evidence; risks only on request', () => {
    const r = report();
    const [first] = findingsMessages(r);
    assert.match(texts(first!.blocks), /MASTER_DOWN_NO_REPLICA/);
    assert.match(texts(first!.blocks), /```/);
    const risks = findingsMessages(r, 'risk').flatMap((m) => m.blocks);
    assert.doesNotMatch(texts(risks), /`MASTER_DOWN_NO_REPLICA`/);
  });

  it('findings split over several messages, each far below 50 blocks', () => {
    const r = report();
    r.findings = Array.from({ length: 25 }, () => r.findings[0]!);
    const messages = findingsMessages(r);
    assert.equal(messages.length, 3);
    assert.ok(messages.every((m) => m.blocks.length <= 50));
  });

  it('node table: a header row and one row per node, split into sections that fit', () => {
    const r = report();
    const [message] = nodeTableMessages(r.nodes);
    assert.match(texts(message!.blocks), /NODE +ID +ROLE +ANSWER +HEALTH +SLOTS +KEYS +FLAGS/);
    assert.match(texts(message!.blocks), /127\.0\.0\.1:31002 +9c08efc5 +master/);
    const many = Array.from({ length: 300 }, (_, i) => ({ ...r.nodes[0]!, addr: `10.0.${Math.floor(i / 200)}.${i % 200}:6379` }));
    const split = nodeTableMessages(many);
    const sections = split.flatMap((m) => m.blocks).filter((b) => b.type === 'section' && /```/.test(texts([b])));
    assert.ok(sections.length > 1);
    for (const s of sections) assert.ok(texts([s]).length < 3300);
    const rows = sections.map((s) => texts([s]).match(/10\.0\.\d+\.\d+:6379/g)?.length ?? 0).reduce((a, b) => a + b, 0);
    assert.equal(rows, 300, 'no node lost in the split');
  });

  it('fixes: Approve (danger for high risk) with a confirm dialog, plus Show commands; advice gets no Approve', () => {
    const r = {
      ...report(),
      fixes: [plan(), plan({ id: 'advice', title: 'Restart 10.0.0.32:6379 with its data', executable: false, risk: 'low' })],
    };
    const { blocks } = fixesMessage(r, values, 15 * 60_000);
    const actions = blocks.filter((b) => b.type === 'actions') as Array<{ elements: Array<Record<string, any>> }>;
    assert.equal(actions.length, 2);
    const [approve, dry] = actions[0]!.elements;
    assert.equal(approve!.text.text, 'Approve: Promote replica 10.0.0.31:6379');
    assert.equal(approve!.style, 'danger');
    assert.equal(approve!.value, 'approve:plan-1');
    assert.equal(approve!.action_id, 'redis_medic.approve:0');
    assert.equal(dry!.text.text, 'Show commands');
    assert.deepEqual(
      actions[1]!.elements.map((e) => e.text.text),
      ['Show commands'],
    );
    assert.match(texts(blocks), /expire after 15 min/);
  });

  it('confirm dialog: the exact commands and the data loss in at most 300 characters', () => {
    const dialog = confirmDialog('payments', plan());
    assert.equal(
      dialog.text.text,
      'On payments:\n10.0.0.31:6379> CLUSTER FAILOVER TAKEOVER\nData loss: Writes not yet replicated to 10.0.0.31:6379 are lost.',
    );
    assert.equal(dialog.style, 'danger');
    const long = confirmDialog(
      'payments',
      plan({
        steps: Array.from({ length: 30 }, (_, i) => ({ node: `10.0.0.${i}:6379`, command: ['CLUSTER', 'FORGET', 'a'.repeat(40)] })),
        dataLoss: { slots: [], lastKnownKeys: null, text: 'x'.repeat(500) },
      }),
    );
    assert.ok(long.text.text.length <= 300, `${long.text.text.length}`);
    assert.match(long.text.text, /…and \d+ more \(Show commands\)/);
    assert.match(long.text.text, /Data loss: x+…$/);
    assert.ok((long.title?.text.length ?? 0) <= 100);
  });

  it("long plan titles are cut to Slack's 75-character button text", () => {
    const r = { ...report(), fixes: [plan({ title: 'T'.repeat(200), risk: 'low' })] };
    const button = (fixesMessage(r, values, 1).blocks.find((b) => b.type === 'actions') as { elements: Array<Record<string, any>> })
      .elements[0]!;
    assert.equal(button.text.text.length, 75);
    assert.equal(button.style, 'primary');
  });

  it('offline: commands for reference, no buttons', () => {
    const r = { ...report(), offline: true, fixes: [plan()] };
    const { blocks } = offlineFixesMessage(r);
    assert.equal(blocks.filter((b) => b.type === 'actions').length, 0);
    assert.match(texts(blocks), /Offline analysis/);
    assert.match(texts(blocks), /CLUSTER FAILOVER TAKEOVER/);
  });
});
