// Issue 11: what one node can make the bot read and hold.
//
//  - RSS when a node answers CLUSTER NODES with 50 MB: collectSnapshot in a process of its own
//    (bench/read-caps-probe.ts) against a fake node streaming the reply, with the default cap
//    (2 MiB) and, for comparison, with the cap out of the way. Goal: peak RSS grows by less
//    than 32 MB with the cap, whatever the node sends.
//  - A generated 20,000-line CLUSTER NODES reply (10,000 masters, 10,000 replicas): diagnose
//    (model, rules, plans) of the snapshot holding it (goal: under 200 ms; the linear model is
//    issue 15's work), and the whole diagnoseCluster against a fake node serving it, with caps
//    raised to admit it, and with the default caps (the reply is dropped: READ_CAP_HIT).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { collectSnapshot } from '../src/cluster/collect-snapshot';
import { DEFAULT_COLLECTION_LIMITS } from '../src/cluster/limits';
import { analyseSnapshot, diagnoseCluster } from '../src/engine';
import { nodeId, startFakeNode } from '../test/helpers/fake-node';
import { median, percentile, timeIt } from './stats';

const MB = 1024 * 1024;
const TIMEOUTS = { connectMs: 1000, commandMs: 10_000 };

export default async function run(): Promise<void> {
  await hugeReply();
  await manyLines(20_000);
}

async function hugeReply(): Promise<void> {
  const fake = await startFakeNode({ clusterNodes: { streamBytes: 50 * MB } });
  try {
    console.log('a node answering CLUSTER NODES with 50 MB (collectSnapshot in its own process; peak RSS minus RSS before):');
    for (const [label, cap] of [
      ['default cap (2 MiB)', DEFAULT_COLLECTION_LIMITS.maxReplyBytes],
      ['cap out of the way (1 GiB)', 1024 * MB],
    ] as const) {
      fake.bytesStreamed = 0;
      const result = await probe(['huge', fake.addr, String(cap)]);
      const growth = (result.peakKb - result.baselineKb) / 1024;
      const verdict = cap === DEFAULT_COLLECTION_LIMITS.maxReplyBytes ? ` (goal < 32 MB) ${growth < 32 ? 'OK' : 'MISSED'}` : '';
      console.log(
        `  ${label.padEnd(28)} RSS +${growth.toFixed(1).padStart(6)} MB (peak ${(result.peakKb / 1024).toFixed(0)} MB)  ${result.ms.toFixed(0).padStart(5)} ms  ` +
          `${result.status}, fake wrote ${(fake.bytesStreamed / MB).toFixed(1)} MB${verdict}`,
      );
    }
  } finally {
    await fake.close();
  }
}

async function manyLines(lines: number): Promise<void> {
  const text = generatedReply(lines);
  const fake = await startFakeNode({ clusterNodes: text });
  try {
    const admitted = { ...DEFAULT_COLLECTION_LIMITS, maxReplyBytes: 16 * MB, maxClusterNodesLines: lines + 1 };
    const snapshot = await collectSnapshot({ seeds: [fake.addr], limits: admitted });
    // 15 rounds after 3 warm-ups: the first rounds run while the JIT still compiles the model's
    // and the rules' hot loops, and one round on a busy shared machine can take several times
    // the median. The process's CPU time (user + system, V8's GC threads included) is printed
    // beside the wall time: it does not count the time another process held the core.
    const cpu: number[] = [];
    const diagnoseOnly = await timeIt(
      15,
      () => {
        const before = process.cpuUsage();
        analyseSnapshot(snapshot);
        const used = process.cpuUsage(before);
        cpu.push((used.user + used.system) / 1000);
      },
      3,
    );
    cpu.splice(0, 3);
    const cluster = { name: 'bench', seeds: [fake.addr], tls: false, spareNodes: [] };
    const whole = await timeIt(1, async () => {
      await diagnoseCluster(cluster, { timeouts: TIMEOUTS, collection: admitted });
    });
    const capped = await timeIt(3, async () => {
      await diagnoseCluster(cluster, { timeouts: TIMEOUTS, collection: DEFAULT_COLLECTION_LIMITS }).catch(() => undefined);
    });
    console.log(`a ${lines.toLocaleString('en-US')}-line CLUSTER NODES reply (${(Buffer.byteLength(text) / MB).toFixed(1)} MB):`);
    console.log(
      `  diagnose (model, rules, plans)         median ${median(diagnoseOnly).toFixed(0).padStart(6)} ms  p90 ${percentile(diagnoseOnly, 90).toFixed(0)} ms  ` +
        `CPU median ${median(cpu).toFixed(0)} ms  (goal < 200 ms) ${median(diagnoseOnly) < 200 ? 'OK' : 'MISSED'}`,
    );
    console.log(`  diagnoseCluster, caps raised to admit  median ${median(whole).toFixed(0).padStart(6)} ms`);
    console.log(`  diagnoseCluster, default caps (dropped) median ${median(capped).toFixed(0).padStart(5)} ms`);
  } finally {
    await fake.close();
  }
}

/** One node's view of `n` nodes: half masters (the slots spread over them), half their replicas. */
function generatedReply(n: number): string {
  const masters = Math.floor(n / 2);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = nodeId(i + 1);
    const addr = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:6379@16379`;
    const me = i === 0 ? 'myself,' : '';
    if (i < masters) {
      const from = Math.floor((i * 16384) / masters);
      const to = Math.floor(((i + 1) * 16384) / masters) - 1;
      out.push(
        `${id} ${addr} ${me}master - 0 1700000000000 ${i + 1} connected${to >= from ? ` ${from === to ? from : `${from}-${to}`}` : ''}`,
      );
    } else {
      out.push(`${id} ${addr} slave ${nodeId(i - masters + 1)} 0 1700000000000 ${i - masters + 1} connected`);
    }
  }
  return `${out.join('\n')}\n`;
}

interface ProbeResult {
  baselineKb: number;
  peakKb: number;
  ms: number;
  status: string;
  error: string | null;
  replyBytes: number;
}

function probe(args: string[]): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
    const child = spawn(tsx, [path.join(__dirname, 'read-caps-probe.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`read-caps-probe ${args.join(' ')} exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as ProbeResult);
    });
  });
}
