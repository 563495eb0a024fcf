// The measuring side of read-caps.bench.ts, run as its own process so that its peak RSS is its
// own (not the bench's, not the fake node's). Prints one JSON line.
//
//   huge <seed> <maxReplyBytes>    collectSnapshot of one node that answers CLUSTER NODES with
//                                  a stream of bytes (50 MB in the bench), under that cap
import { collectSnapshot } from '../src/cluster/collect-snapshot';

async function main(): Promise<void> {
  const [mode, seed, cap] = process.argv.slice(2);
  if (mode !== 'huge' || !seed || !cap) throw new Error('usage: read-caps-probe huge <seed> <maxReplyBytes>');
  global.gc?.();
  const baselineKb = process.resourceUsage().maxRSS;
  const started = performance.now();
  const snapshot = await collectSnapshot({
    seeds: [seed],
    limits: { maxReplyBytes: Number(cap), maxClusterNodesLines: 10_000_000 },
    connectTimeoutMs: 1000,
    commandTimeoutMs: 30_000,
  });
  const ms = performance.now() - started;
  const probe = snapshot.probes[0]!;
  console.log(
    JSON.stringify({
      baselineKb,
      peakKb: process.resourceUsage().maxRSS,
      ms,
      status: probe.status,
      error: probe.error ?? null,
      replyBytes: probe.replies?.clusterNodes.length ?? 0,
    }),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
