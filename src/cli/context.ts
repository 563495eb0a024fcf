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

// Every C0 control but tab and newline, DEL, and C1 (0x9b is CSI on 8-bit terminals).
const TERMINAL_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * Text as a terminal shows it, not as it obeys it. Reports quote what nodes say, and a real
 * redis-server takes any bytes as cluster-announce-ip: `\x1b[2J`, `\r` or an OSC 52 sequence
 * there would clear the screen, rewrite a line or set the operator's clipboard. Shown as `\u001b`:
 * readable, and the same character inside a --json string (where JSON.stringify leaves DEL and C1 raw).
 */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const processIO: CliIO = {
  stdout: (text) => process.stdout.write(terminalSafe(text.endsWith('\n') ? text : `${text}\n`)),
  stderr: (text) => process.stderr.write(terminalSafe(text.endsWith('\n') ? text : `${text}\n`)),
};

export function configFrom(command: Command): Config {
  const opts = command.optsWithGlobals<{ config?: string }>();
  // yaml and zod load with the first command that reads the config, not for --help.
  const { loadConfig } = require('../config/load') as typeof import('../config/load');
  return loadConfig(opts.config ? { file: opts.config } : {});
}

/**
 * What `diagnose` reads of the configuration. With no config file and no setting in the
 * environment there is nothing to validate: the defaults are made without loading the schema
 * (zod, yaml: ~60 ms of every ad-hoc diagnosis's start-up). Otherwise the whole configuration is
 * loaded and validated as before (an invalid one is still refused).
 */
export function diagnoseSettingsFrom(command: Command): DiagnoseSettings {
  const opts = command.optsWithGlobals<{ config?: string }>();
  const { configFromEnv } = require('../config/env') as typeof import('../config/env');
  if (!opts.config && !process.env.REDIS_MEDIC_CONFIG && Object.keys(configFromEnv(process.env)).length === 0)
    return defaultDiagnoseSettings();
  return configFrom(command);
}

/** What `diagnose` reads of the configuration: a full Config is one. */
export type DiagnoseSettings = Pick<Config, 'clusters' | 'timeouts' | 'collection'> & { queue: Pick<Config['queue'], 'redisUrl'> };

/** The settings of an empty configuration: what parseConfig({}) gives (a unit test checks it). */
export function defaultDiagnoseSettings(): DiagnoseSettings {
  const { DEFAULT_QUEUE_REDIS_URL, DEFAULT_TIMEOUTS } = require('../config/defaults') as typeof import('../config/defaults');
  const { DEFAULT_COLLECTION_LIMITS } = require('../cluster/limits') as typeof import('../cluster/limits');
  return {
    clusters: [],
    timeouts: { ...DEFAULT_TIMEOUTS },
    collection: { ...DEFAULT_COLLECTION_LIMITS },
    queue: { redisUrl: DEFAULT_QUEUE_REDIS_URL },
  };
}

/** CLI commands log to stderr, so stdout stays the report (and --json stays parseable). */
export function cliLogger(): Logger {
  const { createLogger, logDestination } = require('../logging/logger') as typeof import('../logging/logger');
  return createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }, logDestination(process.stderr));
}
