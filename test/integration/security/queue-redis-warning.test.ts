// Issue 11 §2: whoever can write to the queue Redis can queue jobs; the process says so at
// start-up when the queue URL has no credentials and is not on this host.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { parseConfig } from '../../../src/config/load';
import { createJobSystem } from '../../../src/jobs/system';
import { createLogger } from '../../../src/logging/logger';
import { testPrefix } from '../jobs/support';

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<{ level: number; msg: string; problems?: string[] }> } {
  const lines: Array<{ level: number; msg: string; problems?: string[] }> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: createLogger({ level: 'warn' }, sink), lines };
}

describe('start-up warning about an open queue Redis (issue 11 §2)', function () {
  this.timeout(10_000);

  it('warns for a queue Redis off this host without password or TLS, never for loopback', async () => {
    const open = capturingLogger();
    // TEST-NET-1: nothing answers there; the warning needs no connection.
    const exposed = createJobSystem(parseConfig({ queue: { redisUrl: 'redis://192.0.2.1:6379', prefix: testPrefix() } }), {
      logger: open.logger,
    });
    await exposed.close();
    const warning = open.lines.find((l) => /has no password or ACL user and no TLS/.test(l.msg));
    assert.ok(warning, JSON.stringify(open.lines));
    assert.equal(warning.level, 40);
    assert.match(warning.msg, /docs\/security\.md/);

    const local = capturingLogger();
    const loopback = createJobSystem(parseConfig({ queue: { redisUrl: 'redis://127.0.0.1:6379', prefix: testPrefix() } }), {
      logger: local.logger,
    });
    await loopback.close();
    assert.ok(!local.lines.some((l) => /no password/.test(l.msg)), JSON.stringify(local.lines));
  });
});
