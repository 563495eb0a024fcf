import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, logDestination, redactUrl } from '../../../src/logging/logger';

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

describe('logger redaction', () => {
  it('censors passwords, tokens and secrets wherever they sit in a logged object', () => {
    const out = capture();
    const logger = createLogger({ level: 'info' }, out.stream);
    logger.info(
      {
        password: 'p1-secret',
        cluster: { name: 'payments', password: 'p2-secret', seeds: ['10.0.0.31:6379'] },
        clusters: [{ name: 'cache', password: 'p3-secret' }],
        slack: { botToken: 'fake-bot-token-secret', signingSecret: 's-secret', appToken: 'fake-app-token-secret' },
        approvalSecret: 'a-secret',
        req: { headers: { authorization: 'Bearer alert-secret', 'x-slack-signature': 'v0=abc-secret' } },
        redisUrl: 'redis://:q-secret@10.0.0.9:6379',
      },
      'config loaded',
    );
    const text = out.text();
    for (const secret of [
      'p1-secret',
      'p2-secret',
      'p3-secret',
      'fake-bot-token-secret',
      's-secret',
      'fake-app-token-secret',
      'a-secret',
      'alert-secret',
      'abc-secret',
      'q-secret',
    ]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.match(text, /\[redacted\]/);
    assert.match(text, /payments/, 'the rest stays readable');
  });

  it('redacts the password of a redis:// URL named in a message', () => {
    assert.equal(redactUrl('redis://user:hunter2@10.0.0.9:6379/0'), 'redis://user:[redacted]@10.0.0.9:6379/0');
    assert.equal(redactUrl('redis://:hunter2@10.0.0.9:6379'), 'redis://:[redacted]@10.0.0.9:6379');
    assert.equal(redactUrl('redis://10.0.0.9:6379'), 'redis://10.0.0.9:6379');
  });

  it('redacts with a URL parser: a password with @ in it, ?password=, and text that is no URL (issue 11 §4)', () => {
    assert.equal(redactUrl('redis://user:p@ss@10.0.0.9:6379/0'), 'redis://user:[redacted]@10.0.0.9:6379/0');
    assert.equal(redactUrl('rediss://10.0.0.9:6380/0?password=hunter2&db=1'), 'rediss://10.0.0.9:6380/0?password=[redacted]&db=1');
    assert.equal(redactUrl('redis://u:x@[::1]:6379?pass=1'), 'redis://u:[redacted]@[::1]:6379?pass=[redacted]');
    assert.equal(redactUrl('hunter2@10.0.0.9'), '[unparseable URL, not shown]');
    for (const url of ['redis://user:p@ss@10.0.0.9:6379/0', 'rediss://10.0.0.9:6380/0?password=hunter2']) {
      assert.doesNotMatch(redactUrl(url), /ss@10|hunter2/);
    }
  });
});

describe('log format: readable on a terminal, JSON elsewhere', () => {
  const ttyCapture = (): ReturnType<typeof capture> & { stream: Writable & { isTTY?: boolean } } => {
    const out = capture();
    (out.stream as Writable & { isTTY?: boolean }).isTTY = true;
    return out;
  };

  it('JSON lines when the stream is not a terminal (a pipe, a file, a container)', () => {
    const out = capture();
    createLogger({ level: 'info' }, logDestination(out.stream, undefined)).info({ cluster: 'payments' }, 'incident opened');
    const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
    assert.equal(line.msg, 'incident opened');
    assert.equal(line.cluster, 'payments');
  });

  it('pino-pretty lines on a terminal, still redacted, with control characters from cluster data neutralised', () => {
    const out = ttyCapture();
    createLogger({ level: 'info' }, logDestination(out.stream, undefined)).info(
      { cluster: { name: 'payments', password: 'p-secret' }, node: '10.0.0.1\u001b[2J:6379' },
      'node \u001b]52;c;AAAA\u0007 gone',
    );
    const text = out.text();
    assert.doesNotMatch(text, /^\{/, text);
    assert.match(text, /INFO/);
    assert.match(text, /node .*gone/);
    assert.doesNotMatch(text, /p-secret/);
    assert.match(text, /\[redacted\]/);
    assert.doesNotMatch(
      text.replace(/\u001b\[[0-9;]*m/g, ''),
      /[\u0000-\u0009\u000b-\u001f\u007f]/,
      'no raw control characters besides colours',
    );
  });

  it('LOG_FORMAT=json keeps JSON on a terminal; LOG_FORMAT=pretty prettifies a pipe', () => {
    const tty = ttyCapture();
    createLogger({ level: 'info' }, logDestination(tty.stream, 'json')).info('x');
    assert.equal((JSON.parse(tty.text().trim()) as { msg: string }).msg, 'x');
    const pipe = capture();
    createLogger({ level: 'info' }, logDestination(pipe.stream, 'pretty')).info('y');
    assert.match(pipe.text(), /INFO.*: y/);
  });
});
