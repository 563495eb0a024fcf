// The measuring side of scale.bench.ts, run as its own process per measurement so that its
// peak RSS is ours alone (not the bench's, not the simulator's). Prints one JSON line.
//
//   inproc <seed> <rounds>   diagnoseCluster (collect, model, rules, plans) as the CLI runs it
//   monitor <seed>           monitor polls with the Slack app in the same process, as `start`
//                            runs them: each poll's duration, the event loop's longest stall
//                            during it, and the ack time of slash commands sent during it
//   nodes <lines> <rounds>   diagnose (with plans) of one generated CLUSTER NODES reply
//   verify <seed> <rounds>   a repair's verification rounds over every node (the heaviest
//                            spec: cluster_state, every slot served, every node meshed): each
//                            round's duration and the event loop's longest stall during it
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { createAuditLog } from '../src/audit/audit-log';
import type { ClusterSnapshot } from '../src/cluster/types';
import { parseConfig } from '../src/config/load';
import { adHocCluster, analyseSnapshot, diagnoseCluster } from '../src/engine';
import { createClusterMonitor } from '../src/incidents/monitor';
import { createJobSystem } from '../src/jobs/system';
import { silentLogger } from '../src/logging/logger';
import { clusterScope } from '../src/cluster/scope';
import { NodeLinks } from '../src/repair/node-links';
import { verifyPlan } from '../src/repair/verify';
import { createSlackApp, SLACK_EVENTS_PATH } from '../src/slack/app';
import { startFakeSlack } from '../test/helpers/fake-slack';
import { deleteQueueKeys } from '../test/helpers/queue-redis';
import { slashCommand } from '../test/helpers/slack-requests';

const SECRET = 'bench-signing-secret';

async function inProcess(seed: string, rounds: number): Promise<unknown> {
  const baselineKb = process.resourceUsage().maxRSS;
  const cluster = adHocCluster(seed);
  const timeouts = parseConfig({}).timeouts;
  const samples: number[] = [];
  let summary = '';
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    const { report } = await diagnoseCluster(cluster, { timeouts });
    samples.push(performance.now() - start);
    summary = `${report.verdict}, ${report.nodes.length} nodes, ${report.findings.map((f) => f.code).join(' ') || 'no findings'}`;
  }
  return { samples, baselineKb, peakKb: process.resourceUsage().maxRSS, summary };
}

async function generatedReply(lines: number, rounds: number): Promise<unknown> {
  const snapshot = generatedSnapshot(lines);
  const samples: number[] = [];
  let summary = '';
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    const { report } = analyseSnapshot(snapshot);
    samples.push(performance.now() - start);
    summary = `${report.verdict}, ${report.nodes.length} nodes, ${report.findings.length} findings, ${report.fixes.length} plans`;
  }
  return { samples, peakKb: process.resourceUsage().maxRSS, summary };
}

/** One node's reply listing `n` nodes (half masters, half their replicas), as a paste would give it. */
export function generatedSnapshot(n: number): ClusterSnapshot {
  const masters = Math.ceil(n / 2);
  const id = (i: number): string => i.toString(16).padStart(40, '0');
  const text = Array.from({ length: n }, (_, i) => {
    const addr = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:6379@16379`;
    const self = i === 0 ? 'myself,' : '';
    if (i >= masters) return `${id(i)} ${addr} ${self}slave ${id(i - masters)} 0 1700000000000 ${i - masters + 1} connected`;
    const from = Math.floor((i * 16384) / masters);
    const to = Math.floor(((i + 1) * 16384) / masters) - 1;
    return `${id(i)} ${addr} ${self}master - 0 1700000000000 ${i + 1} connected${to >= from ? ` ${from}-${to}` : ''}`;
  }).join('\n');
  return {
    cluster: 'generated',
    seeds: ['10.0.0.0:6379'],
    takenAt: new Date(0).toISOString(),
    durationMs: 0,
    offline: true,
    probes: [{ addr: '10.0.0.0:6379', status: 'ok', durationMs: 0, replies: { clusterNodes: text } }],
  };
}

async function monitorPolls(seed: string): Promise<unknown> {
  const fake = await startFakeSlack();
  const prefix = `bench-${randomUUID()}`;
  const config = parseConfig({
    clusters: [{ name: 'big', seeds: [seed], channel: 'C0BIG' }],
    queue: { prefix },
    slack: { botToken: 'bench-bot-token', signingSecret: SECRET, apiUrl: fake.apiUrl },
    approvalSecret: 'bench-approval-secret',
  });
  const redis = new Redis(config.queue.redisUrl, { commandTimeout: 5000 });
  const audit = createAuditLog(redis, prefix, silentLogger);
  const jobs = createJobSystem(config, { logger: silentLogger, audit });
  const slack = createSlackApp({ config, logger: silentLogger, enqueuer: jobs.enqueuer, redis, audit });
  const monitor = createClusterMonitor({ config, logger: silentLogger, redis, audit });
  const slackSide = slashCommander();
  try {
    await jobs.whenReady(5000);
    const { port } = await slack.start(0);
    const url = `http://127.0.0.1:${port}${SLACK_EVENTS_PATH}`;
    const polls: Array<{ kind: string; ms: number; stallMs: number; acks: number[]; off: boolean; verdict: string | null }> = [];
    const measure = async (kind: string): Promise<void> => {
      const loop = monitorEventLoopDelay({ resolution: 5 });
      slackSide.start(url);
      loop.enable();
      const start = performance.now();
      const outcome = await monitor.poll({ cluster: 'big', reason: 'schedule' });
      const ms = performance.now() - start;
      loop.disable();
      const acks = await slackSide.stop();
      polls.push({ kind, ms, stallMs: loop.max / 1e6, acks, off: outcome.off, verdict: outcome.verdict });
    };
    // The first poll knows one seed: it discovers the others, and runs the periodic deep check.
    await measure('first (discovery + deep check)');
    for (let i = 0; i < 3; i++) await measure('light');
    // A healthy cluster gets a full diagnosis every minute or so: drop the claim to make this poll one.
    await redis.del(...monitor.store.keysOf('big').filter((k) => k.includes(':deep-checked:')));
    await measure('deep check');
    return { polls, intervalMs: config.monitor.intervalMs, peakKb: process.resourceUsage().maxRSS };
  } finally {
    await slackSide.close();
    await slack.stop();
    await jobs.queues.diagnose.obliterate({ force: true }).catch(() => undefined);
    await jobs.close();
    redis.disconnect();
    await deleteQueueKeys(prefix);
    await fake.close();
  }
}

/**
 * Slack's side in a worker thread (its own event loop, so a stalled app loop cannot hide the
 * stall): from start() to stop() it sends a signed /redis-diagnose every 20 ms, one at a time,
 * and returns each send-to-ack time.
 */
function slashCommander(): { start(url: string): void; stop(): Promise<number[]>; close(): Promise<void> } {
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    const http = require('node:http');
    const { performance } = require('node:perf_hooks');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    let running = false, acks = [];
    const post = (p) => new Promise((resolve) => {
      const start = performance.now();
      const req = http.request(p.url, { method: 'POST', agent, headers: { ...p.headers, 'content-length': Buffer.byteLength(p.body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - start : -res.statusCode));
      });
      req.setTimeout(30000, () => req.destroy());
      req.on('error', () => resolve(-1));
      req.end(p.body);
    });
    parentPort.on('message', async (m) => {
      if (m.type === 'start') {
        running = true; acks = [];
        for (let i = 0; running; i++) {
          acks.push(await post(m.posts[i % m.posts.length]));
          await new Promise((r) => setTimeout(r, 20));
        }
        parentPort.postMessage(acks);
      } else if (m.type === 'stop') running = false;
    });`,
    { eval: true },
  );
  return {
    start(url) {
      // Distinct users: a per-user rate limit must not be what is measured.
      const posts = Array.from({ length: 200 }, (_, i) =>
        slashCommand(url, SECRET, { text: 'big', user_id: `U0SCALE${i}`, response_url: 'http://127.0.0.1:1/unused' }),
      );
      worker.postMessage({ type: 'start', posts });
    },
    stop() {
      return new Promise((resolve) => {
        worker.once('message', (acks: number[]) => resolve(acks));
        worker.postMessage({ type: 'stop' });
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

async function verifyRounds(seed: string, rounds: number): Promise<unknown> {
  const cluster = adHocCluster(seed);
  const timeouts = parseConfig({}).timeouts;
  const { report } = await diagnoseCluster(cluster, { timeouts });
  const targets = report.nodes.flatMap((n) => (n.addr ? [{ addr: n.addr, id: n.id }] : []));
  const links = new NodeLinks({}, timeouts.connectMs, clusterScope(cluster));
  const samples: Array<{ ms: number; stallMs: number; ok: boolean }> = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const start = performance.now();
      // The cluster is healthy: the first round holds, and verifyPlan returns after it (a round
      // that does not hold shows as NOT OK, and as a duration near the time allowed).
      const outcome = await verifyPlan({ clusterOk: true, slotsServed: [[0, 16383]], meshed: true }, targets, {
        links,
        timeoutMs: 15_000,
        commandTimeoutMs: timeouts.commandMs,
      });
      const ms = performance.now() - start;
      delay.disable();
      samples.push({ ms, stallMs: delay.max / 1e6, ok: outcome.ok });
    }
  } finally {
    links.close();
  }
  return { samples, nodes: targets.length, peakKb: process.resourceUsage().maxRSS };
}

async function main(): Promise<void> {
  const [mode, arg, rounds] = process.argv.slice(2);
  const result =
    mode === 'inproc'
      ? await inProcess(arg!, Number(rounds ?? 3))
      : mode === 'monitor'
        ? await monitorPolls(arg!)
        : mode === 'nodes'
          ? await generatedReply(Number(arg), Number(rounds ?? 5))
          : mode === 'verify'
            ? await verifyRounds(arg!, Number(rounds ?? 3))
            : (() => {
                throw new Error(`unknown mode ${mode}`);
              })();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
