// Interrupted repairs say what ran (issue 10 §4). The real `redis-medic start` binary is killed
// with -9 right after step 1 of 3 of an approved repair (DELSLOTSRANGE, ADDSLOTSRANGE,
// BUMPEPOCH): the fake Slack holds its answer to the "step 1/3 ok" progress edit, which the
// executor awaits, so the kill lands exactly there. A second `start` takes the stalled job over:
// the outcome names the step that ran and the two that did not, nothing is re-run, and the thread
// offers the plan that completes the job, whose approval brings the cluster back to ok. That
// approval lands while the dead worker's repair lock is still held (the test sees to it: on a fast
// host the second process is up within the lock's TTL anyway): the repair waits the lock out,
// says so, and runs; it is not refused as "another repair is running".
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../src/devtools/local-cluster';
import { DELIVERY_CLAIM_MS } from '../../../src/incidents/monitor';
import { trackProcess } from '../../../src/devtools/processes';
import { useCluster } from '../../helpers/cluster';
import { Redis } from 'ioredis';
import { queueKeys } from '../../../src/queue-keys';
import { buttonsIn, startFakeSlack, type FakeSlack, type RecordedCall } from '../../helpers/fake-slack';
import { deleteQueueKeys } from '../../helpers/queue-redis';
import { buttonClick, interaction, send } from '../../helpers/slack-requests';

const BIN = path.join(__dirname, '../../../bin/redis-medic');
const SIGNING_SECRET = 'interrupted-test-signing-secret';
const CHANNEL = 'C0SHOP';

describe('an approved repair whose `start` process is killed -9 after step 1 of 3', function () {
  this.timeout(150_000);
  const cluster = useCluster({ masters: 3 });
  let fake: FakeSlack;
  let queue: Redis;
  let dir: string;
  const prefix = `test-${crypto.randomUUID()}`;
  const children: ChildProcess[] = [];
  const output: string[] = [];

  before(async () => {
    fake = await startFakeSlack();
    queue = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-medic-interrupted-'));
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
    await deleteQueueKeys(prefix);
    queue.disconnect();
  });

  const blocksOf = (call: RecordedCall): string => JSON.stringify(call.params.blocks ?? call.params.text);

  it('reports the step that ran and the two that did not, re-runs nothing, and the completing plan repairs the cluster', async () => {
    const c = cluster();
    const configFile = path.join(dir, 'redis-medic.yml');
    fs.writeFileSync(
      configFile,
      [
        'clusters:',
        '  - name: shop',
        `    seeds: [${c.seeds.map((s) => `"${s}"`).join(', ')}]`,
        `    channel: ${CHANNEL}`,
        'approvals:',
        '  users: [U0APPROVER]',
        'monitor:',
        '  intervalMs: 500',
        'repair:',
        '  lockTtlMs: 2000',
      ].join('\n'),
    );
    const env = {
      REDIS_MEDIC_CONFIG: configFile,
      SLACK_BOT_TOKEN: 'interrupted-test-bot-token',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
      APPROVAL_SECRET: 'interrupted-test-approval-secret',
      QUEUE_PREFIX: prefix,
    };
    const first = await startProcess(env);

    const victim = c.masters()[2]!;
    await c.kill(victim);
    const root = await fake.waitFor(
      'chat.postMessage',
      (m) => m.params.channel === CHANNEL && !m.params.thread_ts && /is DOWN/.test(String(m.params.text)),
      20_000,
    );
    const rootTs = root.response!.ts as string;
    const fixes = await fake.waitFor(
      'chat.postMessage',
      (m) => m.params.thread_ts === rootTs && buttonsIn([m]).some((b) => /Assign slots 10923-16383/.test(b.text)),
      20_000,
    );
    const approve = buttonsIn([fixes]).find((b) => b.actionId.startsWith('redis_medic.approve') && /Assign slots/.test(b.text))!;
    assert.match(approve.confirm.text.text, /DELSLOTSRANGE 10923 16383\n.*ADDSLOTSRANGE 10923 16383\n.*BUMPEPOCH/);
    const target = /\n([\d.]+:\d+)> CLUSTER DELSLOTSRANGE/.exec(approve.confirm.text.text)![1]!;

    // Slack holds its answer to the "step 1/3 ok" edit: the executor waits right after step 1.
    fake.fault('chat.update', { delayMs: 60_000, match: (p) => /step 1\/3 ok/.test(JSON.stringify(p.blocks ?? '')) });
    await send(
      interaction(
        first.url,
        SIGNING_SECRET,
        buttonClick({
          actionId: approve.actionId,
          value: approve.value,
          userId: 'U0APPROVER',
          channel: CHANNEL,
          messageTs: fixes.response!.ts as string,
          threadTs: rootTs,
          responseUrl: `${fake.responseUrlBase}approve`,
        }),
      ),
    );
    await fake.waitFor('chat.update', (m) => /step 1\/3 ok/.test(JSON.stringify(m.params.blocks ?? '')), 20_000);
    const lockKey = queueKeys(prefix).repairLock('shop');
    const deadLock = await queue.get(lockKey);
    assert.ok(deadLock, 'the first process holds the repair lock while it runs step 1');
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    // Step 1 ran (the target dropped the dead owner from its own view); steps 2 and 3 did not.
    const targetNode = c.nodes.find((n) => n.addr === target)!;
    const own = (await c.clusterNodes(targetNode)).find((l) => l.id === victim.id);
    assert.deepEqual(own?.slots ?? [], [], 'step 1 (DELSLOTSRANGE) ran on the target');
    assert.equal((await c.clusterInfo(targetNode))['cluster_state'], 'fail', 'and nothing else');

    // A new process takes the stalled job over.
    const second = await startProcess(env);
    const outcome = await fake.waitFor(
      'chat.postMessage',
      (m) => m.params.thread_ts === rootTs && /^Repair failed/.test(String(m.params.text)),
      30_000,
    );
    const said = blocksOf(outcome);
    assert.match(said, /interrupted: the worker running this repair stopped after 1 of 3 steps\./);
    assert.match(said, new RegExp(`Ran: 1\\. ${target.replace(/\./g, '\\.')}&gt; CLUSTER DELSLOTSRANGE 10923 16383 \\(ok`));
    assert.match(said, /Not run: 2\. [\d.:]+&gt; CLUSTER ADDSLOTSRANGE 10923 16383; 3\. [\d.:]+&gt; CLUSTER BUMPEPOCH\./);
    assert.match(said, /Not run:\*/, 'the not-run steps are listed on their own');
    assert.match(said, /Nothing was re-run/);
    assert.equal((await c.clusterInfo(targetNode))['cluster_state'], 'fail', 'nothing was re-run');

    // The thread offers the plan that completes the job: the two steps that did not run. The first
    // process's monitor may have been killed while it was posting to the thread (it polls every
    // 500 ms and the cluster changed under it with step 1): its claim on the thread then holds the
    // second process off for DELIVERY_CLAIM_MS, so the wait covers that.
    const completing = await fake.waitFor(
      'chat.postMessage',
      (m) =>
        m.params.thread_ts === rootTs &&
        m.at > outcome.at - 60_000 &&
        m !== fixes &&
        buttonsIn([m]).some(
          (b) =>
            b.actionId.startsWith('redis_medic.approve') &&
            /Assign slots 10923-16383/.test(b.text) &&
            !/DELSLOTSRANGE/.test(b.confirm.text.text),
        ),
      DELIVERY_CLAIM_MS + 15_000,
    );
    const finish = buttonsIn([completing]).find((b) => b.actionId.startsWith('redis_medic.approve') && /Assign slots/.test(b.text))!;
    assert.match(finish.confirm.text.text, /ADDSLOTSRANGE 10923 16383\n.*BUMPEPOCH/);
    // The dead worker's lock, as it is when its worker renewed it just before dying: whether this
    // host brought the second process up within the lock's TTL or not, the approval meets it.
    await queue.set(lockKey, deadLock, 'PX', 2000);
    await send(
      interaction(
        second.url,
        SIGNING_SECRET,
        buttonClick({
          actionId: finish.actionId,
          value: finish.value,
          userId: 'U0APPROVER',
          channel: CHANNEL,
          messageTs: completing.response!.ts as string,
          threadTs: rootTs,
          responseUrl: `${fake.responseUrlBase}finish`,
        }),
      ),
    );
    const repaired = await fake.waitFor(
      'chat.postMessage',
      (m) => m.params.thread_ts === rootTs && /^Repaired/.test(String(m.params.text)),
      30_000,
    );
    assert.match(blocksOf(repaired), /ADDSLOTSRANGE 10923 16383/);
    const waited = fake
      .callsTo('chat.update')
      .find((m) => m.params.ts === completing.response!.ts && /waiting for the repair lock of shop/.test(blocksOf(m)));
    assert.ok(waited, "the approval waited out the dead worker's lock and said so");
    assert.match(blocksOf(waited), /If its worker died, the lock lapses within 2 s/);
    await c.waitUntilOk({ timeoutMs: 15_000 });
  });

  async function startProcess(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'start', '--lock-duration-ms', '1000', '--stalled-interval-ms', '500'], {
      env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:6379', LOG_LEVEL: 'info', PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackProcess(child);
    children.push(child);
    child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`start did not become healthy\n${output.join('').slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { child, url: `${url}/slack/events` };
  }
});
