// MTTD: from the kill of a master (no replica) to the incident's root message in Slack, with
// the monitor running as deployed (job system + scheduler, one poll every intervalMs). Shown
// side by side with the budget the issue sets (node-timeout + interval + 1 s) and with the
// cluster's own detection (every live node saying cluster_state:fail), measured in the same run.
import { randomUUID } from 'node:crypto';
import { createAuditLog } from '../src/audit/audit-log';
import { parseConfig } from '../src/config/load';
import { INCIDENT_EVENT } from '../src/slack/blocks/incident';
import { createClusterMonitor } from '../src/incidents/monitor';
import { createJobSystem } from '../src/jobs/system';
import { silentLogger } from '../src/logging/logger';
import { createSlackIncidentPublisher } from '../src/slack/incident-publisher';
import { Redis } from 'ioredis';
import { spawnCluster } from '../test/helpers/cluster';
import { startFakeSlack, type FakeSlack, type RecordedCall } from '../test/helpers/fake-slack';
import { deleteQueueKeys } from '../test/helpers/queue-redis';

interface Setup {
  nodeTimeoutMs: number;
  intervalMs: number;
  runs: number;
}

const SETUPS: Setup[] = [
  { nodeTimeoutMs: 1000, intervalMs: 1000, runs: 5 },
  { nodeTimeoutMs: 1000, intervalMs: 5000, runs: 3 },
];

export default async function mttdBench(): Promise<void> {
  const fake = await startFakeSlack();
  try {
    console.log('kill (at a random phase of the poll interval) -> incident root message (MTTD),');
    console.log("next to the cluster's own detection (every live node says cluster_state:fail) and the budget");
    console.log('setup                          run   cluster fail   MTTD      budget (nt+iv+1s)   MTTD/budget');
    for (const setup of SETUPS) await measure(setup, fake);
  } finally {
    await fake.close();
  }
}

async function measure(setup: Setup, fake: FakeSlack): Promise<void> {
  const cluster = await spawnCluster({ masters: 3, nodeTimeoutMs: setup.nodeTimeoutMs });
  const prefix = `bench-${randomUUID()}`;
  const redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1, commandTimeout: 2000 });
  const config = parseConfig({
    clusters: [{ name: 'payments', seeds: cluster.seeds, channel: 'C0BENCH' }],
    timeouts: { connectMs: 300, commandMs: 800 },
    queue: { prefix },
    monitor: { intervalMs: setup.intervalMs, resolveAfterPolls: 1 },
    slack: { botToken: 'bench-bot-token', apiUrl: fake.apiUrl },
    approvalSecret: 'bench',
  });
  const audit = createAuditLog(redis, prefix, silentLogger);
  const publisher = createSlackIncidentPublisher({ config, logger: silentLogger, redis });
  const monitor = createClusterMonitor({ config, logger: silentLogger, redis, publisher, audit });
  const system = createJobSystem(config, {
    logger: silentLogger,
    monitorPoll: (job) => monitor.poll(job.data, job.id),
    workers: { name: 'bench', shutdownGraceMs: 5000 },
  });
  const budget = setup.nodeTimeoutMs + setup.intervalMs + 1000;
  const mttds: number[] = [];
  try {
    await system.whenReady(10_000);
    await system.startWorkers({ queues: ['monitor'] });
    await system.startSchedulers();
    await system.whenSchedulersSynced(10_000);
    const victim = cluster.masters()[2]!;
    for (let run = 1; run <= setup.runs; run++) {
      await waitNoIncident(monitor.store, setup.intervalMs * 4 + 10_000);
      fake.reset();
      // At a random phase of the poll interval: right after a poll is the worst case, not the typical one.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * setup.intervalMs));
      const killedAt = Date.now();
      await cluster.kill(victim);
      const [clusterFailMs, root] = await Promise.all([
        cluster.waitUntilFail({ timeoutMs: 20_000 }).then(() => Date.now() - killedAt),
        fake.waitFor('chat.postMessage', isRoot, setup.intervalMs + 20_000),
      ]);
      const mttd = root.at - killedAt;
      mttds.push(mttd);
      console.log(
        `node-timeout ${pad(setup.nodeTimeoutMs, 5)} interval ${pad(setup.intervalMs, 5)}  ${pad(run, 3)}   ${pad(clusterFailMs, 6)} ms    ${pad(mttd, 5)} ms  ${pad(budget, 6)} ms           ${(mttd / budget).toFixed(2)}`,
      );
      await cluster.restart(victim);
      await cluster.waitUntilOk({ timeoutMs: 20_000 });
    }
    const sorted = [...mttds].sort((a, b) => a - b);
    console.log(
      `  -> median MTTD ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms, budget ${budget} ms (median/budget ${(sorted[Math.floor(sorted.length / 2)]! / budget).toFixed(2)})`,
    );
  } finally {
    await system.close();
    redis.disconnect();
    await cluster.teardown();
    await deleteQueueKeys(prefix);
  }
}

function isRoot(call: RecordedCall): boolean {
  return !call.params.thread_ts && call.params.metadata?.event_type === INCIDENT_EVENT;
}

async function waitNoIncident(store: { getIncident(cluster: string): Promise<unknown> }, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await store.getIncident('payments')) !== null) {
    if (Date.now() > until) throw new Error(`the previous incident was not resolved within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width);
}
