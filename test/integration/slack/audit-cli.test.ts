// `redis-medic audit [cluster]`: reads the audit stream the Slack app and workers write.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createAuditLog } from '../../../src/audit/audit-log';
import { runAudit } from '../../../src/cli/audit';
import { UsageError } from '../../../src/cli/context';
import { parseConfig } from '../../../src/config/load';
import { silentLogger } from '../../../src/logging/logger';

describe('redis-medic audit', function () {
  this.timeout(20_000);
  const prefix = `test-${crypto.randomUUID()}`;
  const config = parseConfig({ queue: { redisUrl: 'redis://127.0.0.1:6379', prefix } });
  let redis: Redis;

  before(async () => {
    redis = new Redis('redis://127.0.0.1:6379', { commandTimeout: 2000 });
    const audit = createAuditLog(redis, prefix, silentLogger);
    await audit.record({ action: 'diagnosis.requested', cluster: 'payments', actor: 'U0ASKER', details: { via: 'slack' } });
    await audit.record({
      action: 'repair.refused',
      cluster: 'payments',
      actor: 'U0STRANGER',
      details: { reason: 'not_approver', message: 'You are not allowed' },
    });
    await audit.record({ action: 'repair.approved', cluster: 'cache', actor: 'U0APPROVER', details: { planId: 'plan-1' } });
  });
  after(async () => {
    await redis.del(`${prefix}:audit`);
    redis.disconnect();
  });

  const capture = () => {
    const out: string[] = [];
    return { out, io: { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(`ERR ${t}`) } };
  };

  it('prints every entry oldest first, one line each, details as key=value', async () => {
    const { out, io } = capture();
    assert.equal(await runAudit(undefined, {}, config, io), 0);
    const lines = out.join('\n').split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT.*Z {2}diagnosis\.requested +payments +U0ASKER +via=slack$/);
    assert.match(lines[1]!, /repair\.refused .*reason=not_approver message="You are not allowed"/);
  });

  it('filters by cluster, limits with --count, and prints JSON', async () => {
    const { out, io } = capture();
    await runAudit('payments', { count: '1', json: true }, config, io);
    const records = JSON.parse(out[0]!) as Array<{ action: string; cluster: string }>;
    assert.deepEqual(
      records.map((r) => [r.action, r.cluster]),
      [['repair.refused', 'payments']],
    );
    const none = capture();
    await runAudit('orders', {}, config, none.io);
    assert.equal(none.out[0], 'No audit entries for orders.');
  });

  it('refuses a bad --count', async () => {
    await assert.rejects(runAudit(undefined, { count: 'lots' }, config, capture().io), UsageError);
  });

  it('runs from the command line', async () => {
    const root = path.join(__dirname, '../../..');
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'bin/redis-medic'), 'audit', 'cache'], {
      cwd: root,
      env: { ...process.env, QUEUE_PREFIX: prefix, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_MEDIC_CONFIG: '' },
      timeout: 15_000,
    });
    assert.match(stdout, /repair\.approved +cache +U0APPROVER +planId=plan-1/);
  });
});
