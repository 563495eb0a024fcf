import type { Command } from 'commander';
import { register as analyze } from './analyze';
import { register as audit } from './audit';
import { register as configCheck } from './config-check';
import { register as demo } from './demo';
import { register as diagnose } from './diagnose';
import { register as fix } from './fix';
import { register as start } from './start';
import { register as worker } from './worker';
import { processIO } from './context';
import type { WorkerWiring } from '../service';

/** Every CLI command registers itself on the program. */
export const commands: Array<(program: Command) => void> = [
  diagnose,
  analyze,
  fix,
  start,
  (program) => worker(program, processIO, lazyWorkerWiring()),
  audit,
  configCheck,
  demo,
];

/**
 * The service's wiring for `worker`, loaded (with Bolt) only when a worker asks for it, so
 * registering the command loads nothing.
 */
function lazyWorkerWiring(): WorkerWiring {
  let wiring: WorkerWiring | undefined;
  const load = async (): Promise<WorkerWiring> => (wiring ??= (require('../service') as typeof import('../service')).createWorkerWiring());
  return {
    createHooks: async (config, logger) => (await load()).createHooks?.(config, logger),
    createMonitorPoll: async (config, logger, system) => (await load()).createMonitorPoll?.(config, logger, system),
    close: async () => {
      await wiring?.close?.();
    },
  };
}
