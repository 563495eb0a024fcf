import type { Command } from 'commander';
import { register as analyze } from './analyze';
import { register as diagnose } from './diagnose';
import { register as worker } from './worker';

/** Every CLI command registers itself on the program. */
export const commands: Array<(program: Command) => void> = [diagnose, analyze, worker];
