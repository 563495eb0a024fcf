// Issue 11 §3, replays and floods, against the running app: signed requests as Slack sends them,
// the real queue Redis, the fake Slack Web API.
import assert from 'node:assert/strict';
import http from 'node:http';
import { eventually } from '../../helpers/cluster';
import { send, slackSignature, slashCommand, type SignedPost } from '../../helpers/slack-requests';
import { SIGNING_SECRET, startHarness, waitForAudit, type Harness } from '../slack/support';

/**
 * Sends the headers and the first `sendBytes` of a body that claims `declaredBytes`, then waits
 * for an answer without sending the rest: only a server that decides before reading the whole
 * body answers at all.
 */
function partialPost(
  url: string,
  headers: Record<string, string>,
  declaredBytes: number | 'chunked',
  sendBytes: number,
  timeoutMs = 3000,
): Promise<{ status: number } | 'no answer'> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: {
        ...headers,
        ...(declaredBytes === 'chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(declaredBytes) }),
      },
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve('no answer');
    }, timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
      req.destroy();
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      // The server closing on us after it answered is fine; before it answered is not.
      reject(err);
    });
    const chunk = Buffer.alloc(16 * 1024, 'a');
    for (let sent = 0; sent < sendBytes; sent += chunk.length) req.write(chunk);
  });
}

describe('slack requests: replays, oversized bodies (issue 11 §3)', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const command = (text: string, fields: Record<string, string> = {}): SignedPost =>
    slashCommand(h.url, SIGNING_SECRET, { text, response_url: `${h.fake.responseUrlBase}cmd`, ...fields });

  it('a captured request replayed with `=x`, `=1` or `=` after its signature is refused, and runs once', async () => {
    const captured = command('payments');
    assert.equal((await send(captured)).status, 200);
    await eventually(() => h.enqueuer.diagnoses.length === 1, { what: 'the first diagnosis to be queued', timeoutMs: 5000 });
    for (const suffix of ['=x', '=1', '=']) {
      const replay = {
        ...captured,
        headers: { ...captured.headers, 'x-slack-signature': `${captured.headers['x-slack-signature']}${suffix}` },
      };
      const res = await send(replay);
      assert.equal(res.status, 401, `the replay with ${suffix} was answered ${res.status}`);
    }
    const upper = {
      ...captured,
      headers: { ...captured.headers, 'x-slack-signature': captured.headers['x-slack-signature']!.toUpperCase().replace('V0=', 'v0=') },
    };
    assert.equal((await send(upper)).status, 401, 'upper-case hex is not what Slack sends');
    assert.equal((await send(captured)).status, 401, 'the plain replay');
    await waitForAudit(h, 'request.rejected', (r) => r.details?.reason === 'replayed request');
    assert.equal(h.enqueuer.diagnoses.length, 1);
    assert.equal(h.fake.callsTo('chat.postMessage').length, 1);
  });

  it('a 4 MB body is refused with 413 from its headers, before it is read', async () => {
    const body = 'x'.repeat(10);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      ...slackSignature(SIGNING_SECRET, body),
    };
    // 16 KB of 4 MB sent: the answer must come without the rest.
    assert.deepEqual(await partialPost(h.url, headers, 4 * 1024 * 1024, 16 * 1024), { status: 413 });
    // Without a length, reading stops at the limit.
    assert.deepEqual(await partialPost(h.url, headers, 'chunked', 512 * 1024), { status: 413 });
    // A stale or malformed request is refused from its headers too, its body unread.
    const stale = { ...headers, ...slackSignature(SIGNING_SECRET, body, Math.floor(Date.now() / 1000) - 600) };
    assert.deepEqual(await partialPost(h.url, stale, 4 * 1024 * 1024, 16 * 1024), { status: 401 });
    const malformed = { ...headers, 'x-slack-signature': `${headers['x-slack-signature']}=x` };
    assert.deepEqual(await partialPost(h.url, malformed, 4 * 1024 * 1024, 16 * 1024), { status: 401 });
    assert.equal(h.enqueuer.diagnoses.length, 0);
    // The app still serves real requests.
    assert.equal((await send(command('payments'))).status, 200);
  });
});
