// Scale: diagnosis of big clusters, side by side with `redis-cli --cluster check` on the same
// cluster in the same run, plus the monitor's poll and the event loop while it runs.
//
//  - simulated clusters of 250, 500 and 1000 nodes (bench/sim-cluster.ts: one process, N RESP
//    listeners answering like real nodes): ours in-process (collect, model, rules, plans), the
//    whole CLI (`redis-medic diagnose`, a process), redis-cli; peak RSS of each; the growth
//    exponent (time ~ N^k between the smallest and largest size); one monitor poll (light, and
//    with the periodic deep check) with the longest event-loop stall during it and the ack time
//    of slash commands sent to the app in the same process during the poll;
//  - real redis-server clusters of 30 and 120 nodes: ours in-process against redis-cli;
//  - issue 11's generated 20,000-line CLUSTER NODES reply, diagnosed (with plans).
//
// Goals (issue 15): CLI on 1000 simulated nodes <= redis-cli, peak RSS <= 300 MB; in-process
// <= 0.5x redis-cli at 30 and 120 real nodes; a 1000-node monitor poll within 1 s with no stall
// over 100 ms; (issue 11) the 20,000-line reply under 200 ms.
//
// Each measurement of ours runs in its own process (bench/scale-probe.ts), so its peak RSS is
// its own. SCALE_SIZES=250,500 and SCALE_REAL=30 narrow the run.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnCluster } from '../test/helpers/cluster';
import { startSimulatedCluster } from './sim-cluster';
import { median } from './stats';

const ROOT = path.join(__dirname, '..');
const SIZES = (process.env.SCALE_SIZES ?? '250,500,1000').split(',').map(Number);
const REAL_SIZES = (process.env.SCALE_REAL ?? '30,120').split(',').filter(Boolean).map(Number);
const CLI_TIMEOUT_MS = 120_000;

interface Run {
  ms: number;
  peakMb: number | null;
  exit: number | null;
  stdout: string;
}

interface ProbeResult {
  samples: number[];
  peakKb: number;
  baselineKb?: number;
  summary: string;
}

interface VerifyResult {
  samples: Array<{ ms: number; stallMs: number; ok: boolean }>;
  nodes: number;
  peakKb: number;
}

interface PollResult {
  polls: Array<{ kind: string; ms: number; stallMs: number; acks: number[]; off: boolean; verdict: string | null }>;
  intervalMs: number;
  peakKb: number;
}

export default async function run(): Promise<void> {
  const rows: Array<{
    n: number;
    inproc: number;
    cli: number;
    cliPeak: number | null;
    redisCli: number;
    redisCliPeak: number | null;
    inprocPeak: number;
  }> = [];
  console.log('simulated cluster (one process, N RESP listeners): medians of 3 runs each, alternating');
  console.log('nodes  ours in-process      ours CLI (process)   redis-cli check      CLI/redis-cli  in-process/redis-cli');
  const polls: Array<{ n: number; result: PollResult }> = [];
  const verifications: Array<{ n: number; result: VerifyResult }> = [];
  for (const n of SIZES) {
    const sim = await startSimulatedCluster(n);
    try {
      const seed = sim.addrs[0]!;
      const inproc = await probe<ProbeResult>(['inproc', seed, '3']);
      const cli: Run[] = [];
      const redisCli: Run[] = [];
      for (let i = 0; i < 3; i++) {
        cli.push(await timed(path.join(ROOT, 'bin', 'redis-medic'), ['diagnose', seed]));
        redisCli.push(await timed('redis-cli', ['--cluster', 'check', seed]));
      }
      const row = {
        n,
        inproc: median(inproc.samples.slice(1)),
        inprocPeak: inproc.peakKb / 1024,
        cli: median(cli.map((r) => r.ms)),
        cliPeak: maxOf(cli.map((r) => r.peakMb)),
        redisCli: median(redisCli.map((r) => r.ms)),
        redisCliPeak: maxOf(redisCli.map((r) => r.peakMb)),
      };
      rows.push(row);
      console.log(
        `${pad(n, 5)}  ${ms(row.inproc)} ${mb(row.inprocPeak)}  ${ms(row.cli)} ${mb(row.cliPeak)}  ${ms(row.redisCli)} ${mb(row.redisCliPeak)}  ` +
          `${(row.cli / row.redisCli).toFixed(2).padStart(12)}x  ${(row.inproc / row.redisCli).toFixed(2).padStart(18)}x`,
      );
      if (!/^ok, /.test(inproc.summary)) console.log(`       (in-process report: ${inproc.summary})`);
      const bad = cli.find((r) => r.exit !== 0);
      if (bad) console.log(`       (CLI exit ${bad.exit}: ${bad.stdout.split('\n')[0]})`);
      polls.push({ n, result: await probe<PollResult>(['monitor', seed]) });
      verifications.push({ n, result: await probe<VerifyResult>(['verify', seed, '3']) });
    } finally {
      await sim.stop();
    }
  }
  if (rows.length >= 2) {
    const a = rows[0]!;
    const b = rows[rows.length - 1]!;
    const k = (x: number, y: number): string => (Math.log(y / x) / Math.log(b.n / a.n)).toFixed(2);
    console.log(
      `growth exponent ${a.n} -> ${b.n} nodes (time ~ N^k): ours in-process k=${k(a.inproc, b.inproc)}, ours CLI k=${k(a.cli, b.cli)}, redis-cli k=${k(a.redisCli, b.redisCli)}`,
    );
  }
  const big = rows.find((r) => r.n === 1000);
  if (big) {
    console.log(
      `goal: CLI on 1000 nodes <= redis-cli: ${big.cli <= big.redisCli ? 'OK' : 'MISSED'} (${(big.cli / big.redisCli).toFixed(2)}x); ` +
        `peak RSS <= 300 MB: ${big.cliPeak !== null && big.cliPeak <= 300 ? 'OK' : 'MISSED'} (${big.cliPeak?.toFixed(0)} MB)`,
    );
  }

  console.log('\nmonitor poll (Slack app in the same process; a signed /redis-diagnose every 20 ms during the poll)');
  console.log('nodes  poll                            duration   longest stall   slash acks (n, max)   verdict');
  for (const { n, result } of polls) {
    for (const p of result.polls) {
      const acks = p.acks.filter((x) => x >= 0);
      console.log(
        `${pad(n, 5)}  ${p.kind.padEnd(30)}  ${ms(p.ms)}  ${ms(p.stallMs)}     ${pad(acks.length, 3)}, ${ms(acks.length ? Math.max(...acks) : NaN)}   ${p.off ? 'off' : 'healthy'}${p.verdict ? ` / ${p.verdict}` : ''}`,
      );
    }
    const light = result.polls.filter((p) => p.kind === 'light');
    if (n === 1000) {
      const worst = Math.max(...result.polls.map((p) => p.stallMs));
      const lightMax = Math.max(...light.map((p) => p.ms));
      const slowestAck = Math.max(...result.polls.flatMap((p) => p.acks.filter((x) => x >= 0)));
      const unanswered = result.polls.reduce((n, p) => n + p.acks.filter((x) => x < 0).length, 0);
      console.log(
        `goal: a 1000-node poll within 1 s: ${lightMax <= 1000 ? 'OK' : 'MISSED'} (light ${lightMax.toFixed(0)} ms; interval ${result.intervalMs} ms); ` +
          `no stall over 100 ms: ${worst <= 100 ? 'OK' : 'MISSED'} (worst ${worst.toFixed(0)} ms); ` +
          `slash commands acked within 100 ms: ${slowestAck <= 100 && unanswered === 0 ? 'OK' : 'MISSED'} (slowest ${slowestAck.toFixed(0)} ms, ${unanswered} not acked)`,
      );
    }
  }

  // A repair's verification polls every node until the plan's state holds (every 100 ms in a
  // repair); in `start` it runs beside the Slack app, so a round must not hold the loop either.
  console.log('\nrepair verification round (cluster_state, every slot served, every node meshed: CLUSTER INFO and NODES of every node)');
  console.log('nodes  rounds (duration / longest stall)                         verdict   peak RSS');
  for (const { n, result } of verifications) {
    const rounds = result.samples.map((s) => `${s.ms.toFixed(0)} / ${s.stallMs.toFixed(0)} ms`).join(', ');
    console.log(`${pad(n, 5)}  ${rounds.padEnd(56)}  ${result.samples.every((s) => s.ok) ? 'ok' : 'NOT OK'}  ${mb(result.peakKb / 1024)}`);
    if (n === 1000) {
      const worst = Math.max(...result.samples.map((s) => s.stallMs));
      console.log(
        `goal (as the monitor's): no stall over 100 ms during a 1000-node round: ${worst <= 100 ? 'OK' : 'MISSED'} (worst ${worst.toFixed(0)} ms)`,
      );
    }
  }

  if (REAL_SIZES.length) {
    console.log('\nreal redis-server clusters (half masters, half replicas): ours in-process vs redis-cli, medians of 10 alternating');
    console.log('nodes  ours in-process   redis-cli check   ratio   goal <= 0.5x');
    for (const n of REAL_SIZES) await realCluster(n);
  }

  const generated = await probe<ProbeResult>(['nodes', '20000', '5']);
  const gen = median(generated.samples.slice(1));
  console.log(
    `\ngenerated 20,000-line CLUSTER NODES reply, diagnosed with plans: median ${gen.toFixed(0)} ms, peak RSS ${(generated.peakKb / 1024).toFixed(0)} MB ` +
      `(${generated.summary}); goal < 200 ms: ${gen < 200 ? 'OK' : 'MISSED'}`,
  );
}

async function realCluster(n: number): Promise<void> {
  let cluster: Awaited<ReturnType<typeof spawnCluster>>;
  const started = performance.now();
  try {
    cluster = await spawnCluster({ masters: n / 2, replicasPerMaster: 1 });
  } catch (err) {
    console.log(`${pad(n, 5)}  could not spawn ${n} redis-servers here: ${String(err).split('\n')[0]}`);
    return;
  }
  try {
    const seed = cluster.seeds[0]!;
    const spawnMs = performance.now() - started;
    // In-process runs in its own process too (one warm-up, then 10 samples); redis-cli 10 times.
    const ours = await probe<ProbeResult>(['inproc', seed, '11']);
    const theirs: number[] = [];
    for (let i = 0; i < 10; i++) theirs.push((await timed('redis-cli', ['--cluster', 'check', seed])).ms);
    const o = median(ours.samples.slice(1));
    const t = median(theirs);
    console.log(
      `${pad(n, 5)}  ${ms(o)}       ${ms(t)}       ${(o / t).toFixed(2)}x  ${o / t <= 0.5 ? 'OK' : 'MISSED'}   (spawned in ${(spawnMs / 1000).toFixed(0)} s; ${ours.summary})`,
    );
  } finally {
    await cluster.teardown();
  }
}

/** Run bench/scale-probe.ts in its own process and return its JSON line. */
async function probe<T>(args: string[]): Promise<T> {
  const result = await timed(process.execPath, ['--import', 'tsx', path.join(__dirname, 'scale-probe.ts'), ...args], 600_000);
  if (result.exit !== 0) throw new Error(`scale-probe ${args.join(' ')} exited ${result.exit}: ${result.stdout.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as T;
}

/** Wall time of a process, and its peak RSS (GNU time's %M), killed after the timeout. */
function timed(command: string, args: string[], timeoutMs = CLI_TIMEOUT_MS): Promise<Run> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'PEAK_RSS_KB=%M', command, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const peak = /PEAK_RSS_KB=(\d+)/.exec(stderr);
      resolve({ ms: performance.now() - start, peakMb: peak ? Number(peak[1]) / 1024 : null, exit: code, stdout: stdout || stderr });
    });
  });
}

function maxOf(values: Array<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? Math.max(...known) : null;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width);
}

function ms(value: number): string {
  return `${value.toFixed(0).padStart(6)} ms`;
}

function mb(value: number | null): string {
  return value === null ? '       ' : `${value.toFixed(0).padStart(4)} MB`;
}
