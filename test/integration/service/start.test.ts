// The real `redis-medic start` binary, configured only through its environment and a config
// file, against a real broken cluster and the fake Slack Web API: the monitor opens the incident
// by itself, a signed slash command gets a thread with fix buttons, a signed approve click
// repairs the cluster, the incident resolves, and SIGTERM ends the process with code 0.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../src/devtools/local-cluster';
import { trackProcess } from '../../../src/devtools/processes';
import { useCluster } from '../../helpers/cluster';
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
    const configFile = path.join(dir, 'redis-medic.yml');
    fs.writeFileSync(configFile, [
      'clusters:',
      '  - name: shop',
      `    seeds: [${c.seeds.map((s) => `"${s}"`).join(', ')}]`,
      '    channel: C0SHOP',
      'approvals:',
      '  users: [U0APPROVER]',
      'monitor:',
      '  intervalMs: 500',
      '  resolveAfterPolls: 2',
    ].join('\n'));
    child = spawn(process.execPath, [BIN, 'start'], {
      env: {
        ...process.env,
        REDIS_MEDIC_CONFIG: configFile,
        SLACK_BOT_TOKEN: 'start-test-bot-token',
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: fake.apiUrl,
        APPROVAL_SECRET: 'start-test-approval-secret',
        REDIS_URL: 'redis://127.0.0.1:6379',
        QUEUE_PREFIX: prefix,
        PORT: String(port),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackProcess(child);
    child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(`${url}/healthz`, 20_000, () => output.join(''));

    // Nobody typed anything: the monitor noticed and opened the incident thread.
    const incident = await fake.waitFor('chat.postMessage', (m) => m.params.channel === 'C0SHOP' && m.params.metadata?.event_type === 'redis_medic_incident', 20_000);
    assert.match(text(incident), /shop/);

    const ack = await send(slashCommand(`${url}/slack/events`, SIGNING_SECRET, { text: 'shop', user_id: 'U0ASKER', channel_id: 'C0SHOP', response_url: `${fake.responseUrlBase}cmd` }));
    assert.equal(ack.status, 200);
    const fixes = await fake.waitFor('chat.postMessage', (m) => buttonsIn([m]).some((b) => b.actionId.startsWith('redis_medic.approve') && /ADDSLOTSRANGE 16000 16383/.test(JSON.stringify(b.confirm))), 30_000);
    const approve = buttonsIn([fixes]).find((b) => b.actionId.startsWith('redis_medic.approve') && /ADDSLOTSRANGE 16000 16383/.test(JSON.stringify(b.confirm)))!;

    const click = await send(interaction(`${url}/slack/events`, SIGNING_SECRET, buttonClick({
      actionId: approve.actionId, value: approve.value, userId: 'U0APPROVER', channel: 'C0SHOP',
      messageTs: fixes.response!.ts as string, threadTs: fixes.params.thread_ts as string, responseUrl: `${fake.responseUrlBase}click`,
    })));
    assert.equal(click.status, 200);
    const outcome = await fake.waitFor('chat.postMessage', (m) => m.params.thread_ts === fixes.params.thread_ts && /Repair/.test(String(m.params.text)), 30_000);
    assert.match(text(outcome), /Repaired/);
    await c.waitUntilOk({ timeoutMs: 10_000 });

    // The incident resolves by itself once every node says ok for two polls.
    const incidentTs = incident.response!.ts as string;
    const resolved = await fake.waitFor('chat.update', (m) => m.params.ts === incidentTs && /Resolved after/.test(text(m)), 30_000);
    assert.match(text(resolved), /Resolved after/);
    assert.equal(fake.callsTo('chat.postMessage').filter((m) => m.params.metadata?.event_type === 'redis_medic_incident').length, 1, 'one incident thread');

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child!.once('exit', (exitCode) => resolve(exitCode)));
    assert.equal(code, 0, output.join('').slice(-2000));
    const logs = output.join('');
    assert.match(logs, /redis-medic stopped/);
    assert.ok(!logs.includes('start-test-bot-token'), 'the bot token never reaches the logs');
    assert.ok(!logs.includes(SIGNING_SECRET), 'the signing secret never reaches the logs');
  });
});

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
