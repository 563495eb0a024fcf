import type { Command } from 'commander';
import { register as analyze } from './analyze';
import { register as audit } from './audit';
import { register as demo } from './demo';
import { register as diagnose } from './diagnose';
import { register as fix } from './fix';
import { register as start } from './start';
import { register as worker } from './worker';
import { processIO } from './context';
import { createWorkerWiring } from '../service';

/** Every CLI command registers itself on the program. */
export const commands: Array<(program: Command) => void> = [
  diagnose,
  analyze,
  fix,
  start,
  (program) => worker(program, processIO, createWorkerWiring()),
  audit,
  demo,
];
