import assert from 'node:assert/strict';
import { describeInterruption, interruptionReason } from '../../../src/jobs/processors/interruption';
import type { RepairProgress } from '../../../src/repair/types';

const steps = [
  { node: '10.0.0.1:6379', command: ['CLUSTER', 'DELSLOTSRANGE', '10923', '16383'] },
  { node: '10.0.0.1:6379', command: ['CLUSTER', 'ADDSLOTSRANGE', '10923', '16383'] },
  { node: '10.0.0.1:6379', command: ['CLUSTER', 'BUMPEPOCH'] },
];
const started: RepairProgress = { phase: 'started', planId: 'assign-000000000000', title: 'Assign', steps, message: '' };
const step = (index: number, status: 'running' | 'ok' | 'failed', reply?: string): RepairProgress => ({
  phase: 'step',
  index,
  total: 3,
  node: steps[index]!.node,
  command: steps[index]!.command,
  status,
  ...(reply ? { reply } : {}),
  message: '',
});

describe('jobs/processors/interruption: what a repair cut short did', () => {
  it('step 1 done, the worker gone: 1 ran, 2 and 3 did not', () => {
    const i = describeInterruption([started, step(0, 'running'), step(0, 'ok', 'OK')]);
    assert.deepEqual(
      i.ran.map((s) => s.command[1]),
      ['DELSLOTSRANGE'],
    );
    assert.deepEqual(
      i.notRun.map((s) => s.command[1]),
      ['ADDSLOTSRANGE', 'BUMPEPOCH'],
    );
    assert.equal(
      interruptionReason(i),
      'interrupted: the worker running this repair stopped after 1 of 3 steps. ' +
        'Ran: 1. 10.0.0.1:6379> CLUSTER DELSLOTSRANGE 10923 16383 (ok: OK). ' +
        'Not run: 2. 10.0.0.1:6379> CLUSTER ADDSLOTSRANGE 10923 16383; 3. 10.0.0.1:6379> CLUSTER BUMPEPOCH. ' +
        'Nothing was re-run. The cluster was diagnosed again: the plan that completes the job is offered in the thread.',
    );
  });

  it('a step sent whose answer was never recorded may have run, and says so', () => {
    const i = describeInterruption([started, step(0, 'ok', 'OK'), step(1, 'running')]);
    assert.deepEqual(
      i.unknown.map((s) => s.command[1]),
      ['ADDSLOTSRANGE'],
    );
    assert.match(interruptionReason(i), /Sent, answer never recorded \(it may have run\): 2\. 10\.0\.0\.1:6379> CLUSTER ADDSLOTSRANGE/);
  });

  it('without the started record, the approved plan names the steps', () => {
    const i = describeInterruption([step(0, 'ok', 'OK')], steps);
    assert.equal(i.notRun.length, 2);
  });
});
