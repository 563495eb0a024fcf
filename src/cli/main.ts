import 'dotenv/config';
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { errorMessage, ErrorCode, isRedisMedicError } from '../errors';
import { EXIT, isKeptAlive, terminalSafe, UsageError } from './context';
import { commands } from './commands';

/** The package version: from package.json beside src/ or dist/ (both are two levels below it). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function buildProgram(): Command {
  const program = new Command()
    .name('redis-medic')
    .description('Diagnose and repair Redis Cluster outages, from the shell or from Slack')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('-c, --config <file>', 'configuration file (YAML or JSON); default $REDIS_MEDIC_CONFIG')
    .addHelpText(
      'after',
      `
Exit codes:
  0  ok (no critical finding; a long-running command stopped cleanly)
  1  a critical finding, or a repair that failed or was refused
  2  usage: a bad flag, argument or configuration file
  3  no node of the cluster answered`,
    )
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    return exitCodeFor(err);
  }
}

const USAGE_CODES: ErrorCode[] = [
  ErrorCode.ParseError,
  ErrorCode.ConfigError,
  ErrorCode.UnknownCluster,
  ErrorCode.AddressNotAllowed,
  ErrorCode.PlanNotFound,
];

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version are not errors.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  process.stderr.write(terminalSafe(`redis-medic: ${errorMessage(err)}\n`));
  if (err instanceof UsageError) return EXIT.usage;
  if (isRedisMedicError(err)) {
    if (err.code === ErrorCode.NoSeedAnswered) return EXIT.unreachable;
    return USAGE_CODES.includes(err.code) ? EXIT.usage : EXIT.critical;
  }
  if (process.env.LOG_LEVEL === 'debug' && err instanceof Error) process.stderr.write(terminalSafe(`${err.stack}\n`));
  return EXIT.critical;
}

/** The entry point of bin/redis-medic. */
export function run(argv: string[] = process.argv): void {
  void main(argv).then((code) => {
    // Long-running commands (start, worker) keep the process alive themselves; one-shot ones exit.
    if (!isKeptAlive()) process.exit(code);
    process.exitCode = code;
  });
}

if (require.main === module) run();
