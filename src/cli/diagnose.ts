import type { Command } from 'commander';
import { parseHostPort } from '../cluster/address';
import { findCluster } from '../config/clusters';
import { queueRedisAddress } from '../config/queue-address';
import type { ClusterConfig, Config } from '../config/schema';
import { formatReport } from '../diagnosis/format-text';
import { diagnoseSettingsFrom, EXIT, processIO, UsageError, type CliIO, type DiagnoseSettings } from './context';

export interface DiagnoseOptions {
  json?: boolean;
  password?: string;
  user?: string;
  tls?: boolean;
  timeout?: string;
  /** allowedNetworks of an ad-hoc cluster, comma-separated. */
  allow?: string;
}

export function register(program: Command, io: CliIO = processIO): void {
  program
    .command('diagnose')
    .description('ask every node of a cluster and name the root cause')
    .argument('<target>', 'a configured cluster name, or seed nodes host:port[,host:port...]')
    .option('--json', 'print the JSON report (docs/report-format.md)')
    .option('--password <password>', 'node password (default: the cluster config, or $REDIS_PASSWORD)')
    .option('--user <username>', 'ACL user name')
    .option('--tls', 'connect with TLS')
    .option('--timeout <ms>', 'command timeout per node in ms (connect timeout is half of it)')
    .option('--allow <networks>', ALLOW_HELP)
    .action(async (target: string, options: DiagnoseOptions, command: Command) => {
      process.exitCode = await runDiagnose(target, options, diagnoseSettingsFrom(command), io);
    });
}

export async function runDiagnose(target: string, options: DiagnoseOptions, config: DiagnoseSettings, io: CliIO): Promise<number> {
  const cluster = targetCluster(target, options, config);
  const timeouts = timeoutsFrom(options, config);
  // Loaded when needed, so `--help` and `analyze` never load the network code.
  const { diagnoseCluster } = require('../engine') as typeof import('../engine');
  const { report } = await diagnoseCluster(cluster, { timeouts, collection: config.collection });
  io.stdout(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.findings.some((f) => f.severity === 'critical') ? EXIT.critical : EXIT.ok;
}

export const ALLOW_HELP =
  "ad-hoc seeds only: where the other nodes may live, as allowedNetworks (comma-separated CIDRs or names, e.g. 10.0.0.0/16); default: the seeds' own hosts";

/** A configured name, or ad-hoc seeds (the CLI user is the operator: typed addresses are fine here). */
export function targetCluster(
  target: string,
  options: Pick<DiagnoseOptions, 'password' | 'user' | 'tls' | 'allow'>,
  config: DiagnoseSettings,
): ClusterConfig {
  const configured = config.clusters.find((c) => c.name === target);
  if (configured && options.allow !== undefined) {
    throw new UsageError(
      `--allow is for ad-hoc seeds: the allowed networks of cluster "${target}" are its allowedNetworks in the configuration`,
    );
  }
  // engine loads ioredis: required here, not at the top, so `--help` and `analyze` stay light.
  const { adHocCluster } = require('../engine') as typeof import('../engine');
  const adHoc = (): ClusterConfig => {
    const cluster = adHocCluster(target);
    const queue = queueRedisAddress(config.queue.redisUrl);
    return queue ? { ...cluster, neverContact: [queue] } : cluster;
  };
  const base = configured ?? (looksLikeAddresses(target) ? adHoc() : findCluster(config, target));
  const password = options.password ?? base.password ?? process.env.REDIS_PASSWORD;
  return {
    ...base,
    ...(password ? { password } : {}),
    ...(options.user ? { username: options.user } : {}),
    ...(options.tls ? { tls: true } : {}),
    ...(options.allow !== undefined ? { allowedNetworks: allowedFrom(options.allow) } : {}),
  };
}

function allowedFrom(text: string): string[] {
  // scope brings ipaddr.js: loaded when --allow is given, so `--help` stays light.
  const { parseNetworkEntry } = require('../cluster/scope') as typeof import('../cluster/scope');
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const entry of entries) {
    try {
      parseNetworkEntry(entry);
    } catch (err) {
      throw new UsageError(`--allow: ${(err as Error).message}`);
    }
  }
  return entries;
}

function looksLikeAddresses(target: string): boolean {
  return target.split(',').every((part) => {
    try {
      parseHostPort(part);
      return true;
    } catch {
      return false;
    }
  });
}

export function timeoutsFrom(options: Pick<DiagnoseOptions, 'timeout'>, config: Pick<Config, 'timeouts'>): Config['timeouts'] {
  if (options.timeout === undefined) return config.timeouts;
  const ms = Number(options.timeout);
  if (!Number.isInteger(ms) || ms <= 0)
    throw new UsageError(`--timeout must be a positive number of milliseconds, got "${options.timeout}"`);
  return { commandMs: ms, connectMs: Math.max(100, Math.round(ms / 2)) };
}
