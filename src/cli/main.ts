import 'dotenv/config';
import { Command, CommanderError } from 'commander';
import { errorMessage, ErrorCode, isRedisMedicError } from '../errors';
import { EXIT, isKeptAlive, UsageError } from './context';
import { commands } from './commands';

export function buildProgram(): Command {
  const program = new Command()
    .name('redis-medic')
    .description('Diagnose and repair Redis Cluster outages, from the shell or from Slack')
    .option('-c, --config <file>', 'configuration file (YAML or JSON); default $REDIS_MEDIC_CONFIG')
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

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version are not errors.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  process.stderr.write(`redis-medic: ${errorMessage(err)}\n`);
  if (err instanceof UsageError) return EXIT.usage;
  if (isRedisMedicError(err)) {
    const usage = [ErrorCode.ParseError, ErrorCode.ConfigError, ErrorCode.UnknownCluster, ErrorCode.AddressNotAllowed, ErrorCode.NoSeedAnswered, ErrorCode.PlanNotFound];
    return usage.includes(err.code) ? EXIT.usage : EXIT.critical;
  }
  if (process.env.LOG_LEVEL === 'debug' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return EXIT.critical;
}

if (require.main === module || process.argv[1]?.endsWith('redis-medic')) {
  void main(process.argv).then((code) => {
    // Long-running commands (start, worker) keep the process alive themselves; one-shot ones exit.
    if (!isKeptAlive()) process.exit(code);
    process.exitCode = code;
  });
}
