// The contract of the compiled binary (bin/redis-medic → dist/): --version, exit codes, lazy
// loading of the heavy modules, and `config check`, which `start` agrees with.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../src/devtools/local-cluster';
import { runCli } from '../../helpers/cli';

const ROOT = path.join(__dirname, '../../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/cluster-nodes');
const PRELOAD = path.join(ROOT, 'test/helpers/loaded-modules.js');

const cli = runCli;

describe('CLI contract (the compiled binary)', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-medic-cli-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs the compiled code from dist/', () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'dist/cli/main.js')), 'dist/ is built before the tests (scripts/build.js)');
  });

  it('--version prints the package version, exit 0', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = await cli(['--version']);
    assert.equal(run.code, 0);
    assert.equal(run.stdout.trim(), version);
  });

  it('--help documents the exit codes, exit 0', async () => {
    const run = await cli(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Exit codes:\n\s+0 .*\n\s+1 .*critical.*\n\s+2 .*usage.*\n\s+3 .*no node/);
    assert.match(run.stdout, /config\b/);
  });

  for (const args of [['--help'], ['analyze', path.join(FIXTURES, 'paste-with-prompts.txt')]]) {
    it(`\`${args[0]}\` loads neither Bolt nor BullMQ nor ioredis (it connects to nothing)`, async () => {
      const file = path.join(dir, `loaded-${args[0]}.json`);
      await cli(args, { nodeArgs: ['-r', PRELOAD], env: { LOADED_MODULES_FILE: file } });
      const loaded = JSON.parse(fs.readFileSync(file, 'utf8')) as string[];
      assert.ok(loaded.includes('commander'), `the preload saw the CLI load: ${loaded.join(' ')}`);
      for (const heavy of ['@slack/bolt', '@slack/web-api', 'bullmq', 'prom-client'])
        assert.ok(!loaded.includes(heavy), `${args[0]} loaded ${heavy}: ${loaded.join(' ')}`);
      assert.ok(!loaded.includes('ioredis'), `${args[0]} loaded ioredis: ${loaded.join(' ')}`);
    });
  }

  it('`--help` loads only the argument parser: no config schema (zod, yaml) and no network code (ipaddr.js)', async () => {
    const file = path.join(dir, 'loaded-help-only.json');
    await cli(['--help'], { nodeArgs: ['-r', PRELOAD], env: { LOADED_MODULES_FILE: file } });
    const loaded = JSON.parse(fs.readFileSync(file, 'utf8')) as string[];
    for (const needless of ['zod', 'yaml', 'ipaddr.js', 'fastest-levenshtein'])
      assert.ok(!loaded.includes(needless), `--help loaded ${needless}: ${loaded.join(' ')}`);
  });

  it('`diagnose` of ad-hoc seeds with no configuration loads no config schema (zod, yaml); a setting in the environment is still validated', async () => {
    const file = path.join(dir, 'loaded-diagnose.json');
    const port = await freePort();
    // No setting at all in the environment (whatever the test runner has).
    const unset = Object.fromEntries(
      [
        'SLACK_BOT_TOKEN',
        'SLACK_SIGNING_SECRET',
        'SLACK_APP_TOKEN',
        'SLACK_API_URL',
        'SLACK_DEFAULT_CHANNEL',
        'PORT',
        'INTERNAL_PORT',
        'REDIS_URL',
        'QUEUE_PREFIX',
        'MONITOR_INTERVAL_MS',
        'ALERT_WEBHOOK_TOKEN',
        'APPROVAL_SECRET',
        'REDIS_MEDIC_CLUSTERS',
      ].map((v) => [v, '']),
    );
    const run = await cli(['diagnose', `127.0.0.1:${port}`], { nodeArgs: ['-r', PRELOAD], env: { ...unset, LOADED_MODULES_FILE: file } });
    assert.equal(run.code, 3, run.stderr);
    const loaded = JSON.parse(fs.readFileSync(file, 'utf8')) as string[];
    for (const needless of ['zod', 'yaml', 'fastest-levenshtein'])
      assert.ok(!loaded.includes(needless), `diagnose loaded ${needless}: ${loaded.join(' ')}`);
    const invalid = await cli(['diagnose', `127.0.0.1:${port}`], { env: { ...unset, PORT: 'eighty' } });
    assert.equal(invalid.code, 2, invalid.stderr);
    assert.match(invalid.stderr, /PORT must be a number/);
  });

  it('exit 0: a healthy paste; exit 1: a critical finding', async () => {
    const healthy = await cli(['analyze', '--json', path.join(FIXTURES, 'paste-with-prompts.txt')]);
    assert.equal(healthy.code, 1, healthy.stderr);
    const ok = await cli(['analyze', '-'], { input: healthyPaste() });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });

  it('exit 2: a bad flag, an unknown command', async () => {
    assert.equal((await cli(['diagnose', '127.0.0.1:1', '--frobnicate'])).code, 2);
    assert.equal((await cli(['frobnicate'])).code, 2);
  });

  it('exit 3: no node of the cluster answered', async () => {
    const port = await freePort();
    const run = await cli(['diagnose', `127.0.0.1:${port}`]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /no node of .* answered/);
  });

  describe('config check', () => {
    const write = (name: string, text: string): string => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      return file;
    };

    it('a valid file: exit 0, says what it found, connects to nothing', async () => {
      const file = write(
        'ok.yml',
        'clusters:\n  - name: payments\n    seeds: ["10.0.0.31:6379"]\n    password: ${PAYMENTS_PASSWORD}\n    channel: C012\n',
      );
      const run = await cli(['config', 'check', file], { env: { PAYMENTS_PASSWORD: 'secret-value' } });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /valid/);
      assert.match(run.stdout, /clusters: 1 \(payments\)/);
      assert.doesNotMatch(run.stdout + run.stderr, /secret-value/);
    });

    it('the shipped example passes', async () => {
      const run = await cli(['config', 'check', path.join(ROOT, 'redis-medic.example.yml')], { env: { REDIS_PAYMENTS_PASSWORD: 'x' } });
      assert.equal(run.code, 0, run.stderr);
    });

    it('an unknown key: exit 2 with the path and a suggestion; `start` refuses the same file for the same reason', async () => {
      const file = write('typo.yml', 'clusters:\n  - name: payments\n    seeds: ["10.0.0.31:6379"]\n    chanel: C012\n');
      const check = await cli(['config', 'check', file]);
      assert.equal(check.code, 2);
      assert.match(check.stderr, /`clusters\.0\.chanel`: unknown key, did you mean `channel`\?/);
      const start = await cli(['start', '--port', '0'], { env: { REDIS_MEDIC_CONFIG: file } });
      assert.equal(start.code, 2);
      assert.match(start.stderr, /`clusters\.0\.chanel`: unknown key, did you mean `channel`\?/);
    });

    it('FILE defaults to --config, then $REDIS_MEDIC_CONFIG; none at all is a usage error', async () => {
      const file = write('bad.yml', 'monitr: {}\n');
      assert.match((await cli(['--config', file, 'config', 'check'])).stderr, /`monitr`: unknown key, did you mean `monitor`\?/);
      assert.match((await cli(['config', 'check'], { env: { REDIS_MEDIC_CONFIG: file } })).stderr, /`monitr`/);
      const none = await cli(['config', 'check']);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /no configuration file/);
    });

    it('an unreadable file or bad YAML: exit 2, named', async () => {
      assert.match(
        (await cli(['config', 'check', path.join(dir, 'missing.yml')])).stderr,
        /cannot read config file .*missing\.yml: ENOENT/,
      );
      const yaml = await cli(['config', 'check', write('broken.yml', 'clusters: [\n')]);
      assert.equal(yaml.code, 2);
      assert.match(yaml.stderr, /cannot parse config file/);
    });
  });
});

/** Three masters covering every slot, as `CLUSTER NODES` prints it on the first one. */
function healthyPaste(): string {
  const id = (n: number): string => String(n).repeat(40);
  return [
    `${id(1)} 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460`,
    `${id(2)} 127.0.0.1:30002@40002 master - 0 1700000000000 2 connected 5461-10922`,
    `${id(3)} 127.0.0.1:30003@40003 master - 0 1700000000000 3 connected 10923-16383`,
  ].join('\n');
}
