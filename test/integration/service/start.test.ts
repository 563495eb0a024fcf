// The real `redis-medic start` binary, configured only through its environment and a config
// file, against a real broken cluster and the fake Slack Web API: the monitor opens the incident
// by itself, a signed slash command gets a thread with fix buttons, a signed approve click
// repairs the cluster, the incident resolves, and SIGTERM ends the process with code 0.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../src/devtools/local-cluster';
import { trackProcess } from '../../../src/devtools/processes';
import { eventually, useCluster } from '../../helpers/cluster';
import { buttonsIn, startFakeSlack, type FakeSlack, type RecordedCall } from '../../helpers/fake-slack';
import { deleteQueueKeys } from '../../helpers/queue-redis';
import { buttonClick, interaction, send, slashCommand } from '../../helpers/slack-requests';

const BIN = path.join(__dirname, '../../../bin/redis-medic');
const SIGNING_SECRET = 'start-test-signing-secret';

describe('redis-medic start (the real binary)', function () {
  this.timeout(90_000);
  const cluster = useCluster({ masters: 3, slots: [[0, 15999]] });
  let fake: FakeSlack;
  let child: ChildProcess | undefined;
  let dir: string;
  const prefix = `test-${crypto.randomUUID()}`;
  const output: string[] = [];

  before(async () => {
    fake = await startFakeSlack();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-medic-start-'));
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
    await deleteQueueKeys(prefix);
  });

  const text = (call: RecordedCall): string => JSON.stringify(call.params.blocks ?? call.params.text);

  it('monitor → incident thread; slash command → buttons; approve → repaired; incident resolved; SIGTERM → exit 0', async () => {
    const c = cluster();
    await c.waitUntilFail();
    const port = await freePort();
    const configFile = writeConfig(dir, c.seeds);
    child = startBinary(
      {
        REDIS_MEDIC_CONFIG: configFile,
        SLACK_BOT_TOKEN: 'start-test-bot-token',
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: fake.apiUrl,
        APPROVAL_SECRET: 'start-test-approval-secret',
        QUEUE_PREFIX: prefix,
        PORT: String(port),
      },
      output,
    );
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(`${url}/healthz`, 20_000, () => output.join(''));

    // Nobody typed anything: the monitor noticed and opened the incident thread.
    const incident = await fake.waitFor(
      'chat.postMessage',
      (m) => m.params.channel === 'C0SHOP' && m.params.metadata?.event_type === 'redis_medic_incident',
      20_000,
    );
    assert.match(text(incident), /shop/);

    const ack = await send(
      slashCommand(`${url}/slack/events`, SIGNING_SECRET, {
        text: 'shop',
        user_id: 'U0ASKER',
        channel_id: 'C0SHOP',
        response_url: `${fake.responseUrlBase}cmd`,
      }),
    );
    assert.equal(ack.status, 200);
    const fixes = await fake.waitFor(
      'chat.postMessage',
      (m) =>
        buttonsIn([m]).some(
          (b) => b.actionId.startsWith('redis_medic.approve') && /ADDSLOTSRANGE 16000 16383/.test(JSON.stringify(b.confirm)),
        ),
      30_000,
    );
    const approve = buttonsIn([fixes]).find(
      (b) => b.actionId.startsWith('redis_medic.approve') && /ADDSLOTSRANGE 16000 16383/.test(JSON.stringify(b.confirm)),
    )!;

    const click = await send(
      interaction(
        `${url}/slack/events`,
        SIGNING_SECRET,
        buttonClick({
          actionId: approve.actionId,
          value: approve.value,
          userId: 'U0APPROVER',
          channel: 'C0SHOP',
          messageTs: fixes.response!.ts as string,
          threadTs: fixes.params.thread_ts as string,
          responseUrl: `${fake.responseUrlBase}click`,
        }),
      ),
    );
    assert.equal(click.status, 200);
    const outcome = await fake.waitFor(
      'chat.postMessage',
      (m) => m.params.thread_ts === fixes.params.thread_ts && /Repair/.test(String(m.params.text)),
      30_000,
    );
    assert.match(text(outcome), /Repaired/);
    await c.waitUntilOk({ timeoutMs: 10_000 });

    // The incident resolves by itself once every node says ok for two polls.
    const incidentTs = incident.response!.ts as string;
    const resolved = await fake.waitFor('chat.update', (m) => m.params.ts === incidentTs && /Resolved after/.test(text(m)), 30_000);
    assert.match(text(resolved), /Resolved after/);
    assert.equal(
      fake.callsTo('chat.postMessage').filter((m) => m.params.metadata?.event_type === 'redis_medic_incident').length,
      1,
      'one incident thread',
    );

    const code = await stop(child);
    assert.equal(code, 0, output.join('').slice(-2000));
    const logs = output.join('');
    assert.match(logs, /redis-medic stopped/);
    assert.ok(!logs.includes('start-test-bot-token'), 'the bot token never reaches the logs');
    assert.ok(!logs.includes(SIGNING_SECRET), 'the signing secret never reaches the logs');
  });
});

function writeConfig(dir: string, seeds: string[]): string {
  const file = path.join(dir, `redis-medic-${crypto.randomUUID()}.yml`);
  fs.writeFileSync(
    file,
    [
      'clusters:',
      '  - name: shop',
      `    seeds: [${seeds.map((s) => `"${s}"`).join(', ')}]`,
      '    channel: C0SHOP',
      'approvals:',
      '  users: [U0APPROVER]',
      'monitor:',
      '  intervalMs: 500',
      '  resolveAfterPolls: 2',
    ].join('\n'),
  );
  return file;
}

/** `redis-medic start` as a deployment runs it: everything from the environment. */
function startBinary(env: Record<string, string>, output: string[]): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:6379', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackProcess(child);
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  return child;
}

function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

async function waitForHealthy(url: string, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      last = `${res.status} ${await res.text()}`;
      if (res.ok) return;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not healthy within ${timeoutMs} ms (last: ${last})\n${logs().slice(-2000)}`);
}

describe('two redis-medic start processes on one cluster (two replicas of the bot)', function () {
  this.timeout(90_000);
  const cluster = useCluster({ masters: 3 });
  const prefix = `test-${crypto.randomUUID()}`;
  const outputs: string[][] = [[], []];
  const children: ChildProcess[] = [];
  let fake: FakeSlack;
  let dir: string;
  before(async () => {
    fake = await startFakeSlack();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-medic-start-'));
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
    await deleteQueueKeys(prefix);
  });

  it('a master without replica dies: exactly one incident thread, whichever process polls', async () => {
    const c = cluster();
    const configFile = writeConfig(dir, c.seeds);
    for (const output of outputs) {
      const port = await freePort();
      children.push(
        startBinary(
          {
            REDIS_MEDIC_CONFIG: configFile,
            SLACK_BOT_TOKEN: 'start-test-bot-token',
            SLACK_SIGNING_SECRET: SIGNING_SECRET,
            SLACK_API_URL: fake.apiUrl,
            APPROVAL_SECRET: 'start-test-approval-secret',
            QUEUE_PREFIX: prefix,
            PORT: String(port),
          },
          output,
        ),
      );
      await waitForHealthy(`http://127.0.0.1:${port}/healthz`, 20_000, () => output.join(''));
    }
    await c.kill(c.masters()[2]!);
    const root = await fake.waitFor('chat.postMessage', (m) => m.params.metadata?.event_type === 'redis_medic_incident', 20_000);
    const threadReplies = () => fake.callsTo('chat.postMessage').filter((m) => m.params.thread_ts === root.response!.ts).length;
    await waitUntil(() => threadReplies() > 0, 20_000);
    // Both processes poll many more times (interval 500 ms) while the outage lasts: wait for eight
    // polls finished after the root message, and for both processes among the pollers (BullMQ
    // records which worker processed each job), instead of sleeping a fixed time.
    const monitorQueue = new Queue('monitor', { connection: { host: '127.0.0.1', port: 6379 }, prefix });
    const pids = new Set<string | undefined>();
    try {
      await eventually(
        async () => {
          const jobs = await monitorQueue.getJobs(['completed'], 0, 200);
          for (const job of jobs) pids.add(job.processedBy?.split('-').pop());
          return pids.size >= 2 && jobs.filter((j) => (j.finishedOn ?? 0) > root.at).length >= 8;
        },
        { what: 'eight polls after the root message, by both processes', timeoutMs: 20_000 },
      );
    } finally {
      await monitorQueue.close();
    }
    const roots = fake.callsTo('chat.postMessage').filter((m) => m.params.metadata?.event_type === 'redis_medic_incident');
    assert.equal(roots.length, 1, 'one incident root message');
    assert.deepEqual([...pids].sort(), children.map((child) => String(child.pid)).sort(), 'both processes polled');
    for (const child of children) assert.equal(await stop(child), 0);
  });
});

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
