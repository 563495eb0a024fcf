import type { Command } from 'commander';
import type { AuditRecord } from '../audit/audit-log';
import type { Config } from '../config/schema';
import { ErrorCode, errorMessage, RedisMedicError } from '../errors';
import { cliLogger, configFrom, EXIT, processIO, UsageError, type CliIO } from './context';

export interface AuditCliOptions {
  count?: string;
  json?: boolean;
}

export function register(program: Command, io: CliIO = processIO): void {
  program
    .command('audit')
    .description('print the audit log (diagnoses, approvals, refusals, repair steps) from the queue Redis, oldest first')
    .argument('[cluster]', 'only entries about this cluster')
    .option('--count <n>', 'how many of the latest entries', '50')
    .option('--json', 'print the entries as JSON')
    .action(async (cluster: string | undefined, options: AuditCliOptions, command: Command) => {
      process.exitCode = await runAudit(cluster, options, configFrom(command), io);
    });
}

const CONNECT_TIMEOUT_MS = 2000;
const COMMAND_TIMEOUT_MS = 5000;

export async function runAudit(cluster: string | undefined, options: AuditCliOptions, config: Config, io: CliIO): Promise<number> {
  const count = Number(options.count ?? '50');
  if (!Number.isInteger(count) || count <= 0 || count > 100_000)
    throw new UsageError(`--count must be a whole number from 1 to 100000, got "${options.count}"`);
  // Loaded here, not when the CLI starts.
  const { Redis } = require('ioredis') as typeof import('ioredis');
  const { createAuditLog } = require('../audit/audit-log') as typeof import('../audit/audit-log');
  const { redactUrl } = require('../logging/logger') as typeof import('../logging/logger');
  const redis = new Redis(config.queue.redisUrl, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined); // reported through the rejected command below
  try {
    try {
      await redis.connect();
    } catch (err) {
      throw new RedisMedicError(
        ErrorCode.QueueUnavailable,
        `cannot reach the queue Redis at ${redactUrl(config.queue.redisUrl)}: ${errorMessage(err)}`,
      );
    }
    const records = await createAuditLog(redis, config.queue.prefix, cliLogger()).read({ ...(cluster ? { cluster } : {}), count });
    if (options.json) io.stdout(JSON.stringify(records, null, 2));
    else if (records.length === 0) io.stdout(cluster ? `No audit entries for ${cluster}.` : 'No audit entries.');
    else io.stdout(records.map(formatRecord).join('\n'));
    return EXIT.ok;
  } finally {
    redis.disconnect();
  }
}

/** One line per entry: time, action, cluster, actor, then the details as key=value. */
export function formatRecord(record: AuditRecord): string {
  const details = Object.entries(record.details ?? {})
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
  return [record.at, record.action.padEnd(19), record.cluster.padEnd(12), record.actor.padEnd(12), details].join('  ').trimEnd();
}
