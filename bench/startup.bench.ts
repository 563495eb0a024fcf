// Start-up cost of the compiled CLI (bin/redis-medic → dist/), next to `node -e 0` in the same
// run: `--help` and an offline `analyze` of a paste, alternating so a noisy neighbour slows all
// alike (goal: --help within 150 ms of node -e 0), and which packages --help loads (subcommands
// load lazily: no Bolt, BullMQ or ioredis). Then the idle memory of `redis-medic start` (Slack
// app, workers, monitor) with 3 real local clusters, next to an idle bare node process
// (goal: RSS at most 120 MB).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, spawnCluster, type TestCluster } from '../src/devtools/local-cluster';
import { startFakeSlack } from '../src/devtools/local-slack';
import { deleteQueueKeys } from '../src/devtools/queue-keys';
import { median, percentile } from './stats';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'bin/redis-medic');
const PASTE = path.join(ROOT, 'test/fixtures/cluster-nodes/paste-with-prompts.txt');
const PRELOAD = path.join(ROOT, 'test/helpers/loaded-modules.js');
const CPU_PRELOAD = path.join(__dirname, 'cpu-at-exit.js');
const ROUNDS = 15;
const WARMUP = 2;
const IDLE_SAMPLES = 12; // one a second, after the first monitor polls
const MB = 1024 * 1024;

export default async function run(): Promise<void> {
  startupTimes();
  loadedByHelp();
  await idleMemory();
}

function startupTimes(): void {
  const cpuFile = path.join(os.tmpdir(), `redis-medic-bench-cpu-${process.pid}.txt`);
  const env = { ...process.env, LOG_LEVEL: 'silent', REDIS_MEDIC_CONFIG: '', CPU_USAGE_FILE: cpuFile };
  const contenders: Array<[string, string[]]> = [
    ['node -e 0 (reference)', ['-e', '0']],
    ['redis-medic --help', [BIN, '--help']],
    ['redis-medic analyze <paste>', [BIN, 'analyze', PASTE]],
  ];
  const wall = contenders.map(() => [] as number[]);
  const cpu = contenders.map(() => [] as number[]);
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    contenders.forEach(([, args], i) => {
      fs.rmSync(cpuFile, { force: true });
      const start = performance.now();
      const result = spawnSync(process.execPath, ['-r', CPU_PRELOAD, ...args], { env, stdio: 'ignore' });
      const ms = performance.now() - start;
      if (result.status === null || result.status > 1) throw new Error(`${args.join(' ')} exited ${result.status}`);
      if (round < WARMUP) return;
      wall[i]!.push(ms);
      cpu[i]!.push(Number(fs.readFileSync(cpuFile, 'utf8').trim()) / 1000);
    });
  }
  fs.rmSync(cpuFile, { force: true });
  console.log(`start-up, ${ROUNDS} runs each, alternating, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`);
  console.log(`${''.padEnd(30)} wall (spawn to exit)         CPU (user + system)`);
  contenders.forEach(([name], i) => {
    const w = wall[i]!;
    const c = cpu[i]!;
    console.log(
      `${name.padEnd(30)} median ${median(w).toFixed(0).padStart(4)} ms  p90 ${percentile(w, 90).toFixed(0).padStart(4)} ms   median ${median(
        c,
      )
        .toFixed(0)
        .padStart(4)} ms`,
    );
  });
  const over = (i: number, samples: number[][]): number => median(samples[i]!) - median(samples[0]!);
  const help = over(1, wall);
  console.log(
    `--help over node -e 0          wall ${help.toFixed(0).padStart(4)} ms  CPU ${over(1, cpu).toFixed(0).padStart(4)} ms  (goal <= 150 ms) ${help <= 150 ? 'OK' : 'MISSED'}`,
  );
  console.log(
    `analyze over node -e 0         wall ${over(2, wall).toFixed(0).padStart(4)} ms  CPU ${over(2, cpu).toFixed(0).padStart(4)} ms`,
  );
}

function loadedByHelp(): void {
  const file = path.join(os.tmpdir(), `redis-medic-bench-loaded-${process.pid}.json`);
  spawnSync(process.execPath, ['-r', PRELOAD, BIN, '--help'], {
    env: { ...process.env, LOADED_MODULES_FILE: file, REDIS_MEDIC_CONFIG: '' },
    stdio: 'ignore',
  });
  const loaded = JSON.parse(fs.readFileSync(file, 'utf8')) as string[];
  fs.rmSync(file, { force: true });
  const heavy = ['@slack/bolt', '@slack/web-api', 'bullmq', 'ioredis', 'prom-client', 'pino'].filter((p) => loaded.includes(p));
  console.log(`--help loads ${loaded.length} packages (${loaded.join(', ')}); heavy ones: ${heavy.length ? heavy.join(', ') : 'none'}`);
}

async function idleMemory(): Promise<void> {
  const clusters: TestCluster[] = [];
  const slack = await startFakeSlack();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-medic-bench-start-'));
  const prefix = `bench-${crypto.randomUUID()}`;
  let start: ChildProcess | undefined;
  let bare: ChildProcess | undefined;
  try {
    for (let i = 0; i < 3; i++) clusters.push(await spawnCluster({ masters: 3 }));
    const config = path.join(dir, 'config.yml');
    fs.writeFileSync(
      config,
      [
        'clusters:',
        ...clusters.flatMap((c, i) => [
          `  - name: bench-${i}`,
          `    seeds: [${c.seeds.map((s) => `"${s}"`).join(', ')}]`,
          `    channel: C0BENCH${i}`,
        ]),
        'approvals:',
        '  users: [U0APPROVER]',
        'monitor:',
        '  intervalMs: 1000',
      ].join('\n'),
    );
    const port = await freePort();
    start = spawn(process.execPath, [BIN, 'start'], {
      env: {
        ...process.env,
        REDIS_MEDIC_CONFIG: config,
        SLACK_BOT_TOKEN: 'bench-bot-token',
        SLACK_SIGNING_SECRET: 'bench-signing-secret',
        SLACK_API_URL: slack.apiUrl,
        APPROVAL_SECRET: 'bench-approval-secret',
        QUEUE_PREFIX: prefix,
        PORT: String(port),
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await waitHealthy(`http://127.0.0.1:${port}/healthz`, 30_000);
    // Idle: the monitor polls each cluster every second and nothing else happens.
    const ours: number[] = [];
    const reference: number[] = [];
    for (let i = 0; i < IDLE_SAMPLES; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      ours.push(rssOf(start.pid!));
      reference.push(rssOf(bare.pid!));
    }
    const polls = slack.callsTo('chat.postMessage').length;
    const idle = median(ours.slice(-5));
    console.log(`\nidle RSS, ${IDLE_SAMPLES} s after /healthz, 3 clusters of 3 masters, monitor every 1 s (${polls} messages posted)`);
    console.log(
      `redis-medic start               median of last 5 ${(idle / MB).toFixed(0).padStart(4)} MB  max ${(Math.max(...ours) / MB).toFixed(0)} MB`,
    );
    console.log(`bare node, idle (reference)     median of last 5 ${(median(reference.slice(-5)) / MB).toFixed(0).padStart(4)} MB`);
    console.log(`redis-medic start idle RSS      ${(idle / MB).toFixed(0)} MB (goal <= 120 MB) ${idle <= 120 * MB ? 'OK' : 'MISSED'}`);
  } finally {
    await stop(start);
    await stop(bare);
    await slack.close();
    for (const c of clusters) await c.teardown();
    await deleteQueueKeys(prefix).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Resident set size of a process, from /proc (Linux). */
function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
