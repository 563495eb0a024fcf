import type { Command } from 'commander';
import type { ClusterConfig, Config } from '../config/schema';
import type { TestCluster } from '../devtools/local-cluster';
import type { ThrowawayRedis } from '../devtools/redis-server';
import { formatReport } from '../diagnosis/format-text';
import { formatPlan, formatRepairResult } from '../repair/format-text';
import { EXIT, processIO, UsageError, type CliIO } from './context';

/** Each scenario: how to build the throwaway cluster, and how to break it for real. */
export const DEMO_SCENARIOS = {
  'master-down': {
    about: 'a master with no replica is killed (CLUSTERDOWN The cluster is down)',
    spawn: { masters: 3, spares: 1 },
    break: async (c: TestCluster) => {
      await c.kill(c.masters()[2]!);
      await c.waitUntilFail();
    },
  },
  'quorum-lost': {
    about: '2 of 3 masters are killed; their replicas cannot win an election',
    spawn: { masters: 3, replicasPerMaster: 1 },
    break: async (c: TestCluster) => {
      const dead = await c.killMasters(2);
      for (const m of dead) await c.waitUntilFlagged(m, 'fail?');
    },
  },
  unassigned: {
    about: 'slots 16000-16383 were never assigned (CLUSTERDOWN Hash slot not served)',
    spawn: { masters: 3, slots: [[0, 15999]] as Array<[number, number]> },
    break: async () => undefined,
  },
  'open-slot': {
    about: 'a resharding was interrupted: slot 42 is left MIGRATING/IMPORTING',
    spawn: { masters: 3 },
    break: async (c: TestCluster) => c.openSlot(42, c.masters()[0]!, c.masters()[1]!),
  },
  ghost: {
    about: 'a node joined, died, and lingers as a ghost in every table',
    spawn: { masters: 3 },
    break: async (c: TestCluster) => {
      await c.makeGhost();
    },
  },
} as const;

export type DemoScenario = keyof typeof DEMO_SCENARIOS;

interface DemoOptions {
  scenario: string;
  fix: boolean;
  keep: boolean;
  serve?: boolean;
  auto?: boolean;
  port?: string;
}

export function register(program: Command, io: CliIO = processIO): void {
  program
    .command('demo')
    .description('start a throwaway local Redis Cluster, break it, diagnose it, repair it, clean up (needs redis-server on PATH; no Slack)')
    .option('--scenario <name>', `what to break: ${Object.keys(DEMO_SCENARIOS).join(', ')}`, 'master-down')
    .option('--no-fix', 'diagnose only; do not run the recommended plan')
    .option('--keep', 'leave the cluster running until Ctrl-C (to try `redis-medic diagnose` on it)')
    .option(
      '--serve',
      'run the whole product (Slack app, workers, monitor) against the throwaway cluster, with a local Slack: a channel page at http://127.0.0.1:PORT where you break the cluster, type /redis-diagnose and approve the fix',
    )
    .option('--auto', 'with --serve: play the people (break, /redis-diagnose, approve) and print the channel here, then clean up')
    .option('--port <port>', 'with --serve: the channel page port on 127.0.0.1 (default: any free port; the URL is printed)')
    .action(async (options: DemoOptions) => {
      if (options.serve || options.auto) {
        const port = options.port === undefined ? undefined : Number(options.port);
        if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
          throw new UsageError(`--port must be 0-65535, got "${options.port}"`);
        const { runServeDemo } = loadServeDemo();
        process.exitCode = (await runServeDemo(io, {
          keep: options.keep,
          auto: options.auto === true,
          ...(port !== undefined ? { port } : {}),
        }))
          ? EXIT.ok
          : EXIT.critical;
        return;
      }
      process.exitCode = await runDemo(options, io);
    });
}

/** The served demo needs the dev dependencies (its page renders Block Kit with slack-markdown). */
function loadServeDemo(): typeof import('../devtools/serve-demo') {
  try {
    return require('../devtools/serve-demo') as typeof import('../devtools/serve-demo');
  } catch (err) {
    const missing = /Cannot find module '([^']+)'/.exec((err as Error).message)?.[1];
    if (missing && !missing.startsWith('.'))
      throw new UsageError(`demo --serve needs the dev dependencies (${missing} is missing): run \`npm ci\` in a source checkout`);
    throw err;
  }
}

export async function runDemo(options: DemoOptions, io: CliIO): Promise<number> {
  const scenario = DEMO_SCENARIOS[options.scenario as DemoScenario];
  if (!scenario) {
    io.stderr(`unknown scenario "${options.scenario}"; choose one of: ${Object.keys(DEMO_SCENARIOS).join(', ')}`);
    return EXIT.usage;
  }
  // The spawner, the engine and the executor load here, not when the CLI starts.
  const { spawnCluster } = require('../devtools/local-cluster') as typeof import('../devtools/local-cluster');
  const { redisAnswers, startThrowawayRedis } = require('../devtools/redis-server') as typeof import('../devtools/redis-server');
  const { diagnoseCluster } = require('../engine') as typeof import('../engine');
  const { executePlan } = require('../repair/executor') as typeof import('../repair/executor');
  const { Redis } = require('ioredis') as typeof import('ioredis');
  const { parseConfig } = require('../config/load') as typeof import('../config/load');
  io.stdout(`redis-medic demo: ${options.scenario}: ${scenario.about}\n`);
  io.stdout('Starting a throwaway Redis Cluster on loopback (redis-server from PATH, temp dir)...');
  const cluster = await spawnCluster({ ...scenario.spawn, nodeTimeoutMs: 1000 });
  let queue: ThrowawayRedis | undefined;
  try {
    io.stdout(
      `  nodes: ${cluster.seeds.join(' ')}${
        cluster.spares().length
          ? `   spare: ${cluster
              .spares()
              .map((s) => s.addr)
              .join(' ')}`
          : ''
      }`,
    );
    io.stdout('Breaking it for real...\n');
    await scenario.break(cluster);

    const clusterConfig: ClusterConfig = {
      name: `demo-${options.scenario}`,
      seeds: cluster.seeds,
      tls: false,
      spareNodes: cluster.spares().map((s) => s.addr),
    };
    const config: Config = parseConfig({ clusters: [clusterConfig] });
    const { report } = await diagnoseCluster(clusterConfig, config);
    io.stdout(formatReport(report));

    const plan = report.fixes.find((p) => p.executable);
    if (options.fix && plan) {
      io.stdout(
        `\nThe demo approves the first executable plan itself (a throwaway cluster; a real one needs a human):\n${formatPlan(plan, clusterConfig.name)}\n`,
      );
      // The repair lock lives in the queue Redis: use REDIS_URL if it answers, else a throwaway one.
      const url = process.env.REDIS_URL ?? config.queue.redisUrl;
      if (!(await redisAnswers(url))) queue = await startThrowawayRedis();
      const lockRedis = new Redis(queue?.url ?? url, { maxRetriesPerRequest: 1 });
      try {
        const result = await executePlan({
          cluster: clusterConfig,
          config,
          planId: plan.id,
          lockRedis,
          lockPrefix: `redis-medic-demo-${process.pid}`,
          actor: 'cli:demo',
          onProgress: (p) => io.stdout(`  ... ${p.message}`),
        });
        io.stdout(`\n${formatRepairResult(result)}`);
        const after = await diagnoseCluster(clusterConfig, config);
        io.stdout(
          `\nAfter the repair: ${after.report.verdict.toUpperCase()}; every node: ${after.report.nodes
            .filter((n) => n.reachable)
            .map((n) => `${n.addr} ${n.clusterState}`)
            .join(', ')}`,
        );
        if (result.status !== 'repaired') return EXIT.critical;
      } finally {
        lockRedis.disconnect();
      }
    } else if (options.fix) {
      io.stdout('\nNo plan redis-medic can run for this scenario.');
    }
    if (options.keep) {
      io.stdout(`\nCluster left running. Try: redis-medic diagnose ${cluster.seeds[0]}   (Ctrl-C to stop and clean up)`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    return EXIT.ok;
  } finally {
    io.stdout('\nCleaning up the throwaway cluster.');
    await cluster.teardown();
    await queue?.stop();
  }
}
