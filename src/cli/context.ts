import { Command } from 'commander';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { createLogger, type Logger } from '../logging/logger';

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

/** Exit codes: 0 nothing critical, 1 a critical finding (or a failed repair), 2 bad usage / nothing reachable. */
export const EXIT = { ok: 0, critical: 1, usage: 2 } as const;

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
  return loadConfig(opts.config ? { file: opts.config } : {});
}

/** CLI commands log to stderr, so stdout stays the report (and --json stays parseable). */
export function cliLogger(): Logger {
  return createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }, process.stderr as never);
}
