// The incident thread's steps, decided purely from the record and what this poll saw: in the
// order people read them, and each asked for again until it is recorded as landed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parsePaste } from '../../../src/cluster/parse-paste';
import { analyseSnapshot } from '../../../src/engine';
import { findingsSignature } from '../../../src/incidents/assess';
import { newIncidentRecord, type IncidentRecord } from '../../../src/incidents/store';
import { nextThreadStep, plansOf, rootSignature, rootView, type ThreadContext } from '../../../src/incidents/thread';

const report = analyseSnapshot(
  parsePaste(fs.readFileSync(path.join(__dirname, '../../fixtures/cluster-nodes/master-fail-no-replica.txt'), 'utf8'), 'payments'),
).report;
const ctx: ThreadContext = { report, now: 2000, resolveAfterPolls: 3 };

function record(over: Partial<IncidentRecord> = {}): IncidentRecord {
  return newIncidentRecord({
    id: 'payments-1',
    cluster: 'payments',
    openedAt: 1000,
    openedBy: 'monitor',
    detectedBy: 'the monitor',
    channel: 'C1',
    rootTs: null,
    findingsSignature: '',
    rootSignature: '',
    cause: null,
    healthyPolls: 0,
    healthySince: null,
    lastCountedAt: null,
    lastPollAt: 1000,
    polls: [],
    ...over,
  });
}
const delivered = (over: Partial<IncidentRecord> = {}): IncidentRecord => {
  const base = record({
    rootTs: '1.1',
    findingsSignature: findingsSignature(report),
    fixes: { ts: '1.5', approvalId: 'ap1', plans: plansOf(report) },
  });
  return { ...base, rootSignature: rootSignature(base, rootView(base, ctx)!), ...over };
};

describe('incidents/thread: what the thread still lacks', () => {
  it('a new record: adopt (look in the channel), then the root, then the diagnosis', () => {
    assert.deepEqual(nextThreadStep(record({ adoptCheck: true }), ctx), { kind: 'adopt' });
    assert.deepEqual(nextThreadStep(record(), ctx), { kind: 'root', lookFirst: false });
    assert.deepEqual(
      nextThreadStep(record({ rootUncertain: true }), ctx),
      { kind: 'root', lookFirst: true },
      'a root of unknown outcome is looked up first',
    );
    assert.equal(nextThreadStep(record({ rootTs: '1.1' }), ctx)?.kind, 'diagnosis');
  });

  it('the findings count as told only once landed: a diagnosis in progress is asked for again', () => {
    assert.equal(nextThreadStep(delivered(), ctx), null, 'everything said');
    assert.equal(
      nextThreadStep(delivered({ reply: { signature: findingsSignature(report), key: 'k', landed: 2, uncertain: true } }), ctx)?.kind,
      'diagnosis',
    );
  });

  it('notes before anything else in the thread; the superseded buttons retired after the new diagnosis', () => {
    const note = { note: { kind: 'adopted' as const, at: 1 }, key: 'n1', uncertain: false };
    assert.equal(nextThreadStep(delivered({ notes: [note], findingsSignature: 'old' }), ctx)?.kind, 'note');
    assert.equal(nextThreadStep(delivered({ retire: { ts: '1.2', approvalId: 'ap0', plans: [] } }), ctx)?.kind, 'retire');
  });

  it('same findings, other plans: the fix message is refreshed in place', () => {
    const step = nextThreadStep(delivered({ fixes: { ts: '1.5', approvalId: 'ap1', plans: ['assign-000000000000'] } }), ctx);
    assert.deepEqual(step, { kind: 'refresh-fixes', plans: plansOf(report) });
  });

  it('resolved: the resolution note, the root edit, then archive; a root never posted is simply archived', () => {
    const resolved = delivered({ resolvedAt: 3000, healthySince: 2500 });
    assert.equal(nextThreadStep(resolved, { ...ctx, report: null })?.kind, 'edit-root');
    const edited = { ...resolved, rootSignature: JSON.stringify(['resolved', 0]) };
    assert.deepEqual(nextThreadStep(edited, { ...ctx, report: null }), { kind: 'archive' });
    assert.deepEqual(nextThreadStep(record({ resolvedAt: 3000 }), { ...ctx, report: null }), { kind: 'archive' });
    assert.deepEqual(nextThreadStep(record({ resolvedAt: 3000, rootUncertain: true }), { ...ctx, report: null }), { kind: 'find-root' });
  });

  it('healthy again but not resolved: the root turns yellow once, not every poll', () => {
    const recovering = delivered({ healthySince: 2500 });
    const step = nextThreadStep(recovering, { ...ctx, report: null });
    assert.equal(step?.kind, 'edit-root');
    assert.equal(
      nextThreadStep({ ...recovering, rootSignature: (step as { signature: string }).signature }, { ...ctx, report: null }),
      null,
    );
  });
});
