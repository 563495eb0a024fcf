import type { Command } from 'commander';
import type { Config } from '../config/schema';
import type { Logger } from '../logging/logger';

/** A mistake in how the command was called: exit code 2, the message says what to change. */
export class UsageError extends Error {}

// One-shot commands exit with their code; `start` and `worker` set this and live until a signal.
let keepAlive = false;

/** Called by `start` and `worker`: the process lives until a signal. */
export function keepProcessAlive(): void {
  keepAlive = true;
}

export function isKeptAlive(): boolean {
  return keepAlive;
}

/**
 * Exit codes (documented in `redis-medic --help` and docs/cli.md): 0 nothing critical, 1 a
 * critical finding (or a failed or refused repair), 2 bad usage (flags, arguments, config file),
 * 3 no node of the cluster answered.
 */
export const EXIT = { ok: 0, critical: 1, usage: 2, unreachable: 3 } as const;

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processIO: CliIO = {
  stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

export function configFrom(command: Command): Config {
  const opts = command.optsWithGlobals<{ config?: string }>();
  // yaml and zod load with the first command that reads the config, not for --help.
  const { loadConfig } = require('../config/load') as typeof import('../config/load');
  return loadConfig(opts.config ? { file: opts.config } : {});
}

/** CLI commands log to stderr, so stdout stays the report (and --json stays parseable). */
export function cliLogger(): Logger {
  const { createLogger } = require('../logging/logger') as typeof import('../logging/logger');
  return createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }, process.stderr as never);
}
