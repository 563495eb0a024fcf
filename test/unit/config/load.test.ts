import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultDiagnoseSettings } from '../../../src/cli/context';
import { configFromEnv } from '../../../src/config/env';
import { loadConfig, parseConfig } from '../../../src/config/load';
import { ErrorCode, isRedisMedicError } from '../../../src/errors';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isRedisMedicError(err, ErrorCode.ConfigError), String(err));
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

describe('config: unknown keys', () => {
  it('a misspelt key is an error that names its path and the key it probably meant', () => {
    const message = configError(() => parseConfig({ clusters: [{ name: 'payments', seeds: ['10.0.0.31:6379'], chanel: 'C012' }] }));
    assert.match(message, /`clusters\.0\.chanel`: unknown key, did you mean `channel`\?/);
  });

  it('every unknown key is listed, at every depth, with a suggestion only when one is close', () => {
    const message = configError(() => parseConfig({ monitr: {}, queue: { prefx: 'x', frobnicate: 1 }, approvals: { user: [] } }));
    assert.match(message, /`monitr`: unknown key, did you mean `monitor`\?/);
    assert.match(message, /`queue\.prefx`: unknown key, did you mean `prefix`\?/);
    assert.match(message, /`queue\.frobnicate`: unknown key$/m);
    assert.match(message, /`approvals\.user`: unknown key, did you mean `users`\?/);
  });

  it('unknown keys and invalid values are reported together', () => {
    const message = configError(() => parseConfig({ clusters: [{ name: 'a', seeds: ['nope'], spareNode: [] }] }));
    assert.match(message, /`clusters\.0\.spareNode`: unknown key, did you mean `spareNodes`\?/);
    assert.match(message, /clusters\.0\.seeds\.0: must be host:port/);
  });

  it('a valid configuration still parses', () => {
    const config = parseConfig({
      clusters: [{ name: 'payments', seeds: ['10.0.0.31:6379'], channel: 'C012' }],
      monitor: { intervalMs: 1000 },
    });
    assert.equal(config.clusters[0]!.channel, 'C012');
  });
});

describe('config: ${VAR} expansion', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-medic-config-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('leaves ${NAME} in comments alone, and a secret with YAML syntax in it stays one string', () => {
    const file = path.join(dir, 'c.yml');
    fs.writeFileSync(
      file,
      [
        '# ${NAME} is replaced by the environment variable NAME',
        'clusters:',
        '  - name: payments',
        '    seeds: ["10.0.0.31:6379"]',
        '    password: ${PAYMENTS_PASSWORD}',
      ].join('\n'),
    );
    const config = loadConfig({ file, env: { PAYMENTS_PASSWORD: 'p#1: x' } });
    assert.equal(config.clusters[0]!.password, 'p#1: x');
  });

  it('a ${VAR} that is not set is an error naming it', () => {
    const file = path.join(dir, 'c.yml');
    fs.writeFileSync(file, 'clusters:\n  - name: a\n    seeds: ["10.0.0.31:6379"]\n    password: ${MISSING_PASSWORD}\n');
    assert.match(
      configError(() => loadConfig({ file, env: {} })),
      /uses \$\{MISSING_PASSWORD\}, which is not set/,
    );
  });
});

describe('config: paging', () => {
  const seeds = ['127.0.0.1:7000'];
  it('a routing key from the environment, defaults for the PagerDuty URL and the retries', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medic-paging-'));
    const file = path.join(dir, 'c.yml');
    fs.writeFileSync(
      file,
      [
        'clusters:',
        '  - name: payments',
        '    seeds: ["127.0.0.1:7000"]',
        '    paging:',
        '      pagerduty: { routingKey: "${PD_KEY}" }',
        '      webhooks: [{ url: "https://hooks.example.com/x", headers: { authorization: "Bearer ${HOOK}" } }]',
      ].join('\n'),
    );
    const config = loadConfig({ file, env: { PD_KEY: 'k-123', HOOK: 'h-456' } });
    const paging = config.clusters[0]!.paging!;
    assert.equal(paging.pagerduty?.routingKey, 'k-123');
    assert.equal(paging.pagerduty?.url, 'https://events.pagerduty.com/v2/enqueue');
    assert.deepEqual(paging.webhooks[0]?.headers, { authorization: 'Bearer h-456' });
    assert.equal(config.paging.attempts, 6);
    fs.rmSync(dir, { recursive: true });
  });

  it('misspelt keys, a missing routing key and a non-http URL are errors naming their path', () => {
    const message = configError(() =>
      parseConfig({
        clusters: [
          {
            name: 'a',
            seeds,
            paging: { pagerduty: { routingKey: '', url: 'ftp://x' }, webhooks: [{ url: 'https://h', header: {} }] },
          },
        ],
        paging: { atempts: 3 },
      }),
    );
    assert.match(message, /`clusters\.0\.paging\.webhooks\.0\.header`: unknown key, did you mean `headers`\?/);
    assert.match(message, /`paging\.atempts`: unknown key, did you mean `attempts`\?/);
    assert.match(message, /clusters\.0\.paging\.pagerduty\.routingKey: give the PagerDuty routing key/);
    assert.match(message, /clusters\.0\.paging\.pagerduty\.url: must be an http:\/\/ or https:\/\/ URL/);
  });
});

describe('config: the defaults `diagnose` uses without loading the schema', () => {
  it('are what an empty configuration parses to', () => {
    const { clusters, timeouts, collection, queue } = parseConfig({});
    assert.deepEqual(defaultDiagnoseSettings(), { clusters, timeouts, collection, queue: { redisUrl: queue.redisUrl } });
  });

  it('the environment is read as before: no setting, nothing to load; a bad number is still refused', () => {
    assert.deepEqual(configFromEnv({ REDIS_MEDIC_CONFIG: '', SLACK_BOT_TOKEN: '', PATH: '/usr/bin' }), {});
    assert.deepEqual(configFromEnv({ REDIS_URL: 'redis://10.0.0.9:6380' }), { queue: { redisUrl: 'redis://10.0.0.9:6380' } });
    assert.match(
      configError(() => configFromEnv({ PORT: 'abc' })),
      /PORT must be a number/,
    );
  });
});
