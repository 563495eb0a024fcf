// Issue 11: ioredis attaches the command to a reply error (`err.command = { name, args }`), so a
// failed AUTH or HELLO carries the password in `err.command.args`, a path no redact path named.
// Real failing AUTH/HELLO against the real queue Redis, logged every way the code logs errors.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '../../../src/logging/logger';
import { QUEUE_REDIS_URL } from '../jobs/support';

const SECRET = 'hunter2-i11-never-logged';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('logged errors carry no password (issue 11)', () => {
  let client: Redis;
  before(() => {
    client = new Redis(QUEUE_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
  });
  after(() => client.disconnect());

  it('a real failing AUTH and HELLO AUTH, logged as err, error, nested, in an array and as the object itself', async () => {
    await client.connect();
    const errors: Error[] = [];
    for (const command of [
      ['AUTH', SECRET],
      ['AUTH', 'medic', SECRET],
      ['HELLO', '3', 'AUTH', 'medic', SECRET],
    ]) {
      const err = await client.call(command[0]!, ...command.slice(1)).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err, `${command[0]} did not fail`);
      assert.ok(
        JSON.stringify((err as { command?: unknown }).command).includes(SECRET),
        'ioredis no longer attaches the args: rethink this test',
      );
      errors.push(err);
    }
    const out = capture();
    const logger = createLogger({ level: 'info' }, out.stream);
    for (const err of errors) {
      logger.error({ err }, 'as err');
      logger.error({ error: err }, 'as error');
      logger.error({ cause: err, deeper: { errors: [err] } }, 'nested');
      logger.error(err);
      logger.child({ component: 'x' }).warn({ failure: { err } }, 'child');
    }
    const text = out.text();
    assert.equal(text.split('\n').filter(Boolean).length, errors.length * 5);
    assert.ok(!text.includes(SECRET), `the password reached the log:\n${text}`);
    assert.match(text, /auth/i, 'the command name stays: it says what failed');
    // The errors themselves are untouched: only what is logged is cleaned.
    assert.ok(JSON.stringify((errors[0] as { command?: unknown }).command).includes(SECRET));
  });
});
