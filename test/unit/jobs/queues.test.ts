import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load';
import { ErrorCode, type RedisMedicError } from '../../../src/errors';
import { defaultJobOptions, parseQueueNames, repairJobId } from '../../../src/jobs/queues';
import { monitorSchedulerId } from '../../../src/jobs/scheduler';

describe('job ids and queue options', () => {
  it('derives one repair job id per (plan, approval): deterministic, BullMQ-safe, no concatenation collisions', () => {
    const id = repairJobId('assign-1a2b3c4d5e6f', 'U0123:1700000000.000100');
    assert.equal(id, repairJobId('assign-1a2b3c4d5e6f', 'U0123:1700000000.000100'));
    assert.match(id, /^repair-[0-9a-f]{40}$/);
    assert.ok(!id.includes(':') && `${parseInt(id, 10)}` !== id, 'BullMQ rejects custom ids with ":" and integer ids');
    assert.notEqual(repairJobId('ab', 'c'), repairJobId('a', 'bc'));
    assert.notEqual(repairJobId('p', 'approval-1'), repairJobId('p', 'approval-2'));
    assert.throws(
      () => repairJobId('', 'a'),
      (err: RedisMedicError) => err.code === ErrorCode.ConfigError,
    );
  });

  it('retries diagnoses with backoff, never repairs; keeps finished jobs bounded by config', () => {
    const config = parseConfig({ queue: { keepCompletedSeconds: 60, keepCompletedCount: 10, keepFailedSeconds: 600 } });
    const options = defaultJobOptions(config);
    assert.equal(options.diagnose.attempts, 3);
    assert.deepEqual(options.diagnose.backoff, { type: 'exponential', delay: 1000 });
    assert.equal(options.repair.attempts, 1);
    assert.equal(options.monitor.attempts, 1);
    for (const name of ['diagnose', 'repair', 'monitor'] as const) {
      assert.deepEqual(options[name].removeOnComplete, { age: 60, count: 10 });
      assert.deepEqual(options[name].removeOnFail, { age: 600, count: 10 });
    }
  });

  it('parses --queues with a clear message for unknown names', () => {
    assert.deepEqual(parseQueueNames('diagnose, repair,diagnose'), ['diagnose', 'repair']);
    assert.throws(() => parseQueueNames('diagnose,repairs'), /unknown queue "repairs": choose from diagnose, repair, monitor/);
    assert.throws(() => parseQueueNames(' , '), /choose from/);
  });

  it('names monitor schedulers after their cluster', () => {
    assert.equal(monitorSchedulerId('payments-eu.1'), 'monitor-payments-eu.1');
  });
});
