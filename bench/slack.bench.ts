// Slash command ack latency: 50 concurrent signed /redis-diagnose commands against the real app
// (replay guard in the queue Redis, Bolt, ack; then the root message and the enqueue after the
// ack), next to a bare Bolt app whose listener only acks, measured in the same run.
// Slack's side (the load generator and the fake Web API) runs in a worker thread, as it would
// run elsewhere: the main thread holds only the app, so the numbers are the app's.
// Goal: p99 <= 100 ms (Slack gives up after 3 s).
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { App, LogLevel } from '@slack/bolt';
import { Redis } from 'ioredis';
import { createAuditLog } from '../src/audit/audit-log';
import { parseConfig } from '../src/config/load';
import { createJobSystem } from '../src/jobs/system';
import { silentLogger } from '../src/logging/logger';
import { createSlackApp, SLACK_EVENTS_PATH } from '../src/slack/app';
import { slashCommand, type SignedPost } from '../test/helpers/slack-requests';
import { median, percentile } from './stats';

const CONCURRENT = 50;
const ROUNDS = 6;
const SECRET = 'bench-signing-secret';

export default async function run(): Promise<void> {
  const slackSide = startSlackSide();
  const apiUrl = await slackSide.call<string>({ type: 'start' });
  const prefix = `bench-${crypto.randomUUID()}`;
  const config = parseConfig({
    clusters: [{ name: 'payments', seeds: ['127.0.0.1:7001'], channel: 'C0PAYMENTS' }],
    queue: { prefix },
    slack: { botToken: 'bench-bot-token', signingSecret: SECRET, apiUrl },
    approvalSecret: 'bench-approval-secret',
  });
  const redis = new Redis(config.queue.redisUrl, { commandTimeout: 2000 });
  const audit = createAuditLog(redis, prefix, silentLogger);
  const jobs = createJobSystem(config, { logger: silentLogger, audit });
  await jobs.whenReady(5000);
  const slack = createSlackApp({ config, logger: silentLogger, enqueuer: jobs.enqueuer, redis, audit });
  const { port } = await slack.start(0);
  const oursUrl = `http://127.0.0.1:${port}${SLACK_EVENTS_PATH}`;

  const reference = new App({
    signingSecret: SECRET,
    token: 'bench-bot-token',
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: apiUrl },
  });
  reference.command('/redis-diagnose', async ({ ack }) => {
    await ack({ response_type: 'ephemeral', text: 'ok' });
  });
  const server = (await reference.start(0)) as unknown as { address(): AddressInfo };
  const referenceUrl = `http://127.0.0.1:${server.address().port}/slack/events`;

  const burst = (url: string): Promise<number[]> => {
    const posts: SignedPost[] = Array.from({ length: CONCURRENT }, (_, i) =>
      slashCommand(url, SECRET, { text: 'payments', user_id: `U0BENCH${i}`, response_url: 'http://127.0.0.1:1/unused' }),
    );
    return slackSide.call<number[]>({ type: 'burst', posts });
  };
  try {
    const ours: number[] = [];
    const bare: number[] = [];
    // A warm-up burst each, then alternate so neither side gets the quieter moments.
    await burst(oursUrl);
    await burst(referenceUrl);
    for (let round = 0; round < ROUNDS; round++) {
      ours.push(...(await burst(oursUrl)));
      bare.push(...(await burst(referenceUrl)));
    }
    const line = (name: string, s: number[]): string =>
      `${name.padEnd(38)} p50 ${median(s).toFixed(1).padStart(6)} ms  p99 ${percentile(s, 99).toFixed(1).padStart(6)} ms  max ${Math.max(
        ...s,
      )
        .toFixed(1)
        .padStart(6)} ms`;
    console.log(`${CONCURRENT} concurrent slash commands x ${ROUNDS} rounds, send to ack`);
    console.log(line('redis-medic (guard, Bolt, ack)', ours));
    console.log(line('bare Bolt, ack only (reference)', bare));
    console.log(
      `ratio ours/reference: p50 ${(median(ours) / median(bare)).toFixed(2)}x  p99 ${(percentile(ours, 99) / percentile(bare, 99)).toFixed(2)}x`,
    );
    console.log(`goal p99 <= 100 ms: ${percentile(ours, 99) <= 100 ? 'OK' : 'MISSED'}`);
  } finally {
    await reference.stop();
    await slack.stop();
    await jobs.queues.diagnose.obliterate({ force: true }).catch(() => undefined);
    await jobs.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await slackSide.stop();
  }
}

/** Slack's side in a worker thread: the fake Web API and the load generator (keep-alive HTTP). */
function startSlackSide(): { call<T>(message: unknown): Promise<T>; stop(): Promise<void> } {
  const fakeSlack = path.join(__dirname, '../test/helpers/fake-slack.ts');
  const code = `
    require('tsx/cjs');
    const { parentPort } = require('node:worker_threads');
    const http = require('node:http');
    const { performance } = require('node:perf_hooks');
    const { startFakeSlack } = require(${JSON.stringify(fakeSlack)});
    const agent = new http.Agent({ keepAlive: true, maxSockets: ${CONCURRENT} });
    let fake;
    const post = (p) => new Promise((resolve, reject) => {
      const start = performance.now();
      const req = http.request(p.url, { method: 'POST', agent, headers: { ...p.headers, 'content-length': Buffer.byteLength(p.body) } }, (res) => {
        res.resume();
        res.on('end', () => res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error('status ' + res.statusCode)));
      });
      req.setTimeout(10000, () => req.destroy(new Error('no answer in 10 s')));
      req.on('error', reject);
      req.end(p.body);
    });
    parentPort.on('message', async (m) => {
      try {
        if (m.type === 'start') { fake = await startFakeSlack(); parentPort.postMessage({ ok: fake.apiUrl }); }
        else if (m.type === 'burst') parentPort.postMessage({ ok: await Promise.all(m.posts.map(post)) });
        else if (m.type === 'stop') { agent.destroy(); await fake?.close(); parentPort.postMessage({ ok: true }); }
      } catch (err) { parentPort.postMessage({ error: String(err) }); }
    });`;
  const worker = new Worker(code, { eval: true });
  const call = <T>(message: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      worker.once('message', (reply: { ok?: T; error?: string }) =>
        reply.error ? reject(new Error(reply.error)) : resolve(reply.ok as T),
      );
      worker.postMessage(message);
    });
  return {
    call,
    async stop() {
      await call({ type: 'stop' });
      await worker.terminate();
    },
  };
}
