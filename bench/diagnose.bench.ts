// Diagnosis speed: in-process diagnose of a live 6-node cluster next to a `redis-cli --cluster
// check` process on the same cluster (goal: ratio <= 1.0), a frozen node (ours ends, redis-cli
// hangs), and parsing a generated 1000-node CLUSTER NODES reply (goal: <= 5 ms).
import { spawn } from 'node:child_process';
import { collectSnapshot } from '../src/cluster/collect-snapshot';
import { parseClusterNodes } from '../src/cluster/parse-nodes';
import { diagnose } from '../src/diagnosis/diagnose';
import { spawnCluster } from '../test/helpers/cluster';
import { median, percentile, timeInterleaved, timeIt } from './stats';

export default async function run(): Promise<void> {
  const cluster = await spawnCluster({ masters: 3, replicasPerMaster: 1 });
  try {
    const seeds = [cluster.seeds[0]!];
    // Steady state, alternating: 20 warm-up rounds (JIT), then 100 measured rounds of each.
    const [ours, theirs] = await timeInterleaved(
      100,
      20,
      async () => {
        diagnose(await collectSnapshot({ seeds }));
      },
      () => redisCliCheck(seeds[0]!, 10000),
    );
    const ratio = median(ours) / median(theirs);
    console.log(`diagnose 6 nodes (in-process)     median ${median(ours).toFixed(1)} ms  p90 ${percentile(ours, 90).toFixed(1)} ms`);
    // As the goal defines it: our in-process call against the redis-cli process (its start included).
    console.log(`redis-cli --cluster check (proc)  median ${median(theirs).toFixed(1)} ms  p90 ${percentile(theirs, 90).toFixed(1)} ms`);
    console.log(`ratio ours/redis-cli              ${ratio.toFixed(2)}x  (goal <= 1.0x) ${ratio <= 1 ? 'OK' : 'MISSED'}`);

    const frozen = cluster.replicas()[0]!;
    cluster.freeze(frozen);
    const [oursFrozen] = await timeIt(1, async () => {
      diagnose(await collectSnapshot({ seeds }));
    });
    const cliFrozen = await timeIt(1, () => redisCliCheck(seeds[0]!, 10000));
    cluster.thaw(frozen);
    console.log(
      `one node frozen (SIGSTOP): ours ${oursFrozen!.toFixed(0)} ms; redis-cli ${cliFrozen[0]! >= 10000 ? 'did not finish in 10 s (killed)' : `${cliFrozen[0]!.toFixed(0)} ms`}`,
    );
  } finally {
    await cluster.teardown();
  }

  const text = generatedClusterNodes(1000);
  const parse = await timeIt(50, async () => {
    parseClusterNodes(text);
  });
  console.log(
    `parse 1000-node CLUSTER NODES      median ${median(parse).toFixed(2)} ms  p90 ${percentile(parse, 90).toFixed(2)} ms  (goal <= 5 ms) ${median(parse) <= 5 ? 'OK' : 'MISSED'}`,
  );
}

function redisCliCheck(seed: string, killAfterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('redis-cli', ['--cluster', 'check', seed], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function generatedClusterNodes(n: number): string {
  return Array.from({ length: n }, (_, i) => {
    const id = i.toString(16).padStart(40, '0');
    const from = Math.floor((i * 16384) / n);
    const to = Math.floor(((i + 1) * 16384) / n) - 1;
    return `${id} 10.0.${i >> 8}.${i & 255}:6379@16379 ${i === 0 ? 'myself,' : ''}master - 0 1700000000000 ${i} connected ${from}-${to}`;
  }).join('\n');
}
