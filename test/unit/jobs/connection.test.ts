import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load';
import { ErrorCode, type RedisMedicError } from '../../../src/errors';
import {
  assertQueueRedisAddressIsNotMonitored,
  parseQueueRedisUrl,
  queueConnectionOptions,
  queueRedisExposure,
  reconnectDelayMs,
} from '../../../src/jobs/connection';

describe('queue Redis connection settings', () => {
  it('backs off from 100 ms, doubling, capped at 5 s by default', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 100].map((n) => reconnectDelayMs(n)),
      [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000],
    );
    assert.equal(reconnectDelayMs(10, 1000), 1000);
  });

  it('producers fail fast; workers wait (BullMQ needs maxRetriesPerRequest null) and never give up', () => {
    const producer = queueConnectionOptions({ role: 'producer' });
    assert.equal(producer.enableOfflineQueue, false);
    assert.ok(producer.commandTimeout !== undefined && producer.commandTimeout > 0);
    const worker = queueConnectionOptions({ role: 'worker', name: 'redis-medic-worker-x' });
    assert.equal(worker.maxRetriesPerRequest, null);
    assert.equal(worker.commandTimeout, undefined, 'blocking commands must not time out');
    assert.equal(worker.connectionName, 'redis-medic-worker-x');
    for (const options of [producer, worker]) {
      assert.equal(typeof options.retryStrategy, 'function');
      assert.equal(options.retryStrategy!(1000), 5000, 'keeps retrying every 5 s');
    }
  });

  it('parses REDIS_URL and never shows its password', () => {
    assert.deepEqual(parseQueueRedisUrl('redis://:s3cret@queue.internal:6380/2'), {
      url: 'redis://:s3cret@queue.internal:6380/2',
      host: 'queue.internal',
      port: 6380,
      display: 'redis://:[redacted]@queue.internal:6380/2',
    });
    assert.equal(parseQueueRedisUrl('rediss://q').port, 6379);
    assert.throws(
      () => parseQueueRedisUrl('http://user:pw@x:1'),
      (err: RedisMedicError) => err.code === ErrorCode.ConfigError && !err.message.includes('pw') && /redis:\/\//.test(err.message),
    );
    assert.throws(
      () => parseQueueRedisUrl('not a url'),
      (err: RedisMedicError) => err.code === ErrorCode.ConfigError,
    );
  });
});

describe('queueRedisExposure (issue 11 §2)', () => {
  it('off this host, a queue Redis needs credentials and TLS; loopback needs neither', () => {
    assert.deepEqual(queueRedisExposure('redis://10.0.0.9:6379'), ['no password or ACL user', 'no TLS (rediss://)']);
    assert.deepEqual(queueRedisExposure('redis://queue.internal'), ['no password or ACL user', 'no TLS (rediss://)']);
    assert.deepEqual(queueRedisExposure('redis://medic:pw@queue.internal:6379'), ['no TLS (rediss://)']);
    assert.deepEqual(queueRedisExposure('rediss://queue.internal:6380?password=pw'), []);
    assert.deepEqual(queueRedisExposure('rediss://queue.internal:6380'), ['no password or ACL user']);
    for (const url of ['redis://127.0.0.1:6379', 'redis://localhost', 'redis://[::1]:6379', 'redis://127.0.0.5'])
      assert.deepEqual(queueRedisExposure(url), [], url);
  });
});

describe('assertQueueRedisAddressIsNotMonitored', () => {
  const config = (redisUrl: string) =>
    parseConfig({
      clusters: [
        { name: 'payments', seeds: ['10.0.0.31:6379', '10.0.0.32:6379'] },
        { name: 'cache', seeds: ['127.0.0.1:7000'], spareNodes: ['127.0.0.1:7005'] },
      ],
      queue: { redisUrl },
    });

  it('accepts a queue Redis that is none of the configured nodes', () => {
    assert.equal(assertQueueRedisAddressIsNotMonitored(config('redis://10.0.0.99:6379')).port, 6379);
    assert.equal(assertQueueRedisAddressIsNotMonitored(config('redis://10.0.0.31:6380')).port, 6380);
  });

  it('refuses a seed or a spare, however the address is spelled, naming the cluster and not the password', () => {
    for (const [url, cluster] of [
      ['redis://10.0.0.32', 'payments'],
      ['redis://localhost:7000', 'cache'],
      ['redis://:pw@127.0.0.1:7005/1', 'cache'],
    ] as const) {
      assert.throws(
        () => assertQueueRedisAddressIsNotMonitored(config(url)),
        (err: RedisMedicError) =>
          err.code === ErrorCode.ConfigError && err.message.includes(`monitored cluster "${cluster}"`) && !err.message.includes(':pw@'),
        url,
      );
    }
  });
});
