// The queue Redis must keep incidents, approvals and repair markers across a restart (issue 10
// §3): the job system says at start-up, and again after every reconnect, whether it does. Each
// case runs on a throwaway redis-server of its own (never the shared 127.0.0.1:6379).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startThrowawayRedis, type ThrowawayRedis } from '../../../src/devtools/redis-server';
import { createJobSystem, type JobSystem } from '../../../src/jobs/system';
import { createLogger } from '../../../src/logging/logger';
import { eventually } from '../../helpers/cluster';
import { jobsConfig, testPrefix } from './support';

interface LogLine {
  level: number;
  msg: string;
  persistence?: string;
}

describe('queue Redis persistence check', function () {
  this.timeout(30_000);
  let redis: ThrowawayRedis | undefined;
  let system: JobSystem | undefined;
  afterEach(async () => {
    await system?.close();
    await redis?.stop();
    system = undefined;
    redis = undefined;
  });

  async function start(args: string[]): Promise<LogLine[]> {
    redis = await startThrowawayRedis({ args });
    const lines: LogLine[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)) as LogLine);
        done();
      },
    });
    system = createJobSystem(jobsConfig(testPrefix(), ['127.0.0.1:1'], {}, redis.url), {
      logger: createLogger({ level: 'info' }, sink),
      reconnectCapMs: 200,
    });
    await system.whenReady(10_000);
    return lines;
  }
  const about = (lines: LogLine[]): LogLine[] => lines.filter((l) => l.persistence !== undefined);

  it('no persistence: a warning at start-up, and again when it comes back from a restart', async () => {
    const lines = await start([]);
    await eventually(() => about(lines).length === 1, { what: 'the start-up check' });
    assert.equal(about(lines)[0]!.level, 40, 'a warning');
    assert.match(
      about(lines)[0]!.msg,
      /has no persistence \(appendonly no, save ""\): a restart loses open incidents, approvals and repair markers .*set appendonly yes/,
    );
    await redis!.restart();
    await eventually(() => about(lines).length === 2, { what: 'the check after the reconnect', timeoutMs: 15_000 });
    assert.equal(about(lines)[1]!.level, 40);
  });

  it('AOF on: said once, as information', async () => {
    const lines = await start(['--appendonly', 'yes']);
    await eventually(() => about(lines).length === 1, { what: 'the start-up check' });
    assert.equal(about(lines)[0]!.level, 30);
    assert.match(about(lines)[0]!.msg, /persists with AOF \(appendonly yes/);
  });

  it('RDB snapshots only: a warning that names what is lost', async () => {
    const lines = await start(['--save', '3600 1']);
    await eventually(() => about(lines).length === 1, { what: 'the start-up check' });
    assert.match(about(lines)[0]!.msg, /only takes RDB snapshots \(appendonly no, save "3600 1"\)/);
  });

  it('CONFIG disabled (managed Redis): tolerated, INFO says AOF is off', async () => {
    const lines = await start(['--rename-command', 'CONFIG', '']);
    await eventually(() => about(lines).length === 1, { what: 'the start-up check' });
    assert.equal(about(lines)[0]!.level, 40);
    assert.match(about(lines)[0]!.msg, /has AOF off \(aof_enabled:0; CONFIG is not available/);
  });
});
