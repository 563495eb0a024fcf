// Socket Mode (SLACK_APP_TOKEN set): the same listeners over Bolt's SocketModeReceiver, with
// Slack's side played by a local WebSocket endpoint; the HTTP port only serves our routes.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { createAuditLog } from '../../../src/audit/audit-log';
import { parseConfig } from '../../../src/config/load';
import type { DiagnoseJobData, Enqueuer } from '../../../src/jobs/types';
import { silentLogger } from '../../../src/logging/logger';
import { createSlackApp, type SlackApp } from '../../../src/slack/app';
import { eventually } from '../../helpers/cluster';
import { startFakeSlack, type FakeSlack } from '../../helpers/fake-slack';
import { startFakeSocketMode, type FakeSocketMode } from './fake-socket-mode';

describe('slack app in Socket Mode', function () {
  this.timeout(20_000);
  let fake: FakeSlack;
  let socket: FakeSocketMode;
  let redis: Redis;
  let slack: SlackApp | undefined;
  const prefix = `test-${crypto.randomUUID()}`;
  const diagnoses: DiagnoseJobData[] = [];
  // No queue needed here: what matters is what the listener asks for.
  const enqueuer: Enqueuer = {
    enqueueDiagnosis: async (data) => {
      diagnoses.push(data);
      return 'job-1';
    },
    enqueueRepair: async () => ({ jobId: 'r', created: true }),
    enqueueMonitorPoll: async () => 'm',
  };

  before(async () => {
    fake = await startFakeSlack();
    socket = await startFakeSocketMode();
    fake.socketModeUrl = socket.url;
    redis = new Redis('redis://127.0.0.1:6379', { commandTimeout: 2000 });
  });
  after(async () => {
    await slack?.stop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await socket.close();
    await fake.close();
  });

  it('needs no signing secret, receives commands over the socket, and serves custom routes on the port', async () => {
    const config = parseConfig({
      clusters: [{ name: 'payments', seeds: ['127.0.0.1:7001'] }],
      queue: { prefix },
      slack: { botToken: 'test-bot-token', appToken: 'xapp-test', apiUrl: fake.apiUrl },
      approvalSecret: 'socket-mode-secret',
    });
    slack = createSlackApp({
      config,
      logger: silentLogger,
      enqueuer,
      redis,
      audit: createAuditLog(redis, prefix, silentLogger),
      customRoutes: [
        {
          path: '/healthz',
          method: 'GET',
          handler: (_req, res) => {
            res.writeHead(200);
            res.end('ok');
          },
        },
      ],
    });
    const { port } = await slack.start(0);
    await socket.connected;
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST' })).status, 404);

    const command = {
      command: '/redis-diagnose',
      user_id: 'U0ASKER',
      channel_id: 'C0HERE',
      team_id: 'T0FAKE',
      response_url: `${fake.responseUrlBase}sm`,
      trigger_id: 't',
    };
    const refusal = await socket.send('slash_commands', { ...command, text: '10.9.9.9:6379' });
    assert.match(String(refusal.text), /10\.9\.9\.9:6379 is not a node of any configured cluster/);
    const ack = await socket.send('slash_commands', { ...command, text: 'payments' });
    assert.equal(ack.response_type, 'ephemeral');
    await eventually(() => diagnoses.length === 1, { what: 'a diagnosis to be queued', timeoutMs: 5000 });
    assert.equal(diagnoses[0]!.cluster, 'payments');
  });

  it('refuses to start without an approval secret (no signing secret to derive it from)', () => {
    const config = parseConfig({ slack: { botToken: 'xoxb', appToken: 'xapp' } });
    assert.throws(
      () => createSlackApp({ config, logger: silentLogger, enqueuer, redis, audit: createAuditLog(redis, prefix, silentLogger) }),
      /APPROVAL_SECRET/,
    );
  });

  it('HTTP mode refuses to start without a signing secret, and any mode without a bot token', () => {
    const audit = createAuditLog(redis, prefix, silentLogger);
    assert.throws(
      () => createSlackApp({ config: parseConfig({ slack: { botToken: 'xoxb' } }), logger: silentLogger, enqueuer, redis, audit }),
      /SLACK_SIGNING_SECRET/,
    );
    assert.throws(
      () => createSlackApp({ config: parseConfig({ slack: { signingSecret: 's' } }), logger: silentLogger, enqueuer, redis, audit }),
      /SLACK_BOT_TOKEN/,
    );
  });
});
