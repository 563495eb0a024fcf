// The real binary, as an operator runs it: exit codes and streams are part of the contract.
import { execFile } from 'node:child_process';
import path from 'node:path';

export const BIN = path.join(__dirname, '../../bin/redis-medic');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs bin/redis-medic with no config file and silent logs; stdin gets `input` (or nothing) and is closed. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; nodeArgs?: string[] } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const env = { ...process.env, LOG_LEVEL: 'silent', REDIS_MEDIC_CONFIG: '', ...options.env };
    const child = execFile(
      process.execPath,
      [...(options.nodeArgs ?? []), BIN, ...args],
      { env, timeout: 30000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
    child.stdin!.end(options.input ?? '');
  });
}
