import assert from 'node:assert/strict';
import { UsageError } from '../../../src/cli/context';
import { workerSettings } from '../../../src/cli/worker';
import { parseConfig } from '../../../src/config/load';

describe('redis-medic worker flags', () => {
  const config = parseConfig({});

  it('turns flags into worker settings', () => {
    assert.deepEqual(
      workerSettings(
        {
          queues: 'diagnose',
          concurrency: '3',
          healthPort: '0',
          lockDurationMs: '2000',
          stalledIntervalMs: '1000',
          shutdownGraceMs: '5000',
        },
        config,
      ),
      {
        queues: ['diagnose'],
        healthPort: 0,
        workers: {
          lockDurationMs: 2000,
          stalledIntervalMs: 1000,
          shutdownGraceMs: 5000,
          concurrency: { diagnose: 3, repair: 3, monitor: 3 },
        },
      },
    );
    assert.deepEqual(workerSettings({}, config), { workers: { lockDurationMs: 30000, stalledIntervalMs: 30000, shutdownGraceMs: 30000 } });
  });

  it('rejects bad flags with a message naming the flag', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ concurrency: '0' }, /--concurrency must be a positive whole number, got "0"/],
      [{ concurrency: 'two' }, /--concurrency/],
      [{ healthPort: '70000' }, /--health-port must be a port number/],
      [{ lockDurationMs: '-5' }, /--lock-duration-ms/],
      [{ queues: 'diagnose,nope' }, /--queues: unknown queue "nope"/],
    ];
    for (const [flags, message] of cases)
      assert.throws(
        () => workerSettings(flags, config),
        (err: Error) => err instanceof UsageError && message.test(err.message),
        JSON.stringify(flags),
      );
  });
});
