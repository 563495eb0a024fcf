// Mocha root hooks shared by every test file. Cluster processes spawned by test helpers
// register themselves for a last-chance teardown here. Every plan made anywhere in the suite
// (fixtures, pastes, live clusters) is watched: each step must name a host:port address.
import diagnosticsChannel from 'node:diagnostics_channel';
import { killAllSpawned } from '../../src/devtools/processes';
import { isHostPort, stepNodes, type PlansMade } from '../../src/repair/plan';

// Tests run the real bin/redis-medic, which runs dist/: rebuilt first when src/ is newer.
const { buildIfStale } = require('../../scripts/build.js') as { buildIfStale: () => boolean };

export function mochaGlobalSetup(): void {
  buildIfStale();
}

const misaddressed: string[] = [];
let plansSeen = 0;
diagnosticsChannel.subscribe('redis-medic:plans', (message) => {
  const made = message as PlansMade;
  for (const plan of made.plans) {
    plansSeen++;
    for (const node of stepNodes(plan)) {
      if (!isHostPort(node))
        misaddressed.push(`${made.cluster}${made.offline ? ' (paste)' : ''}: ${plan.id} "${plan.title}" names "${node}"`);
    }
  }
});

// Mocha runs without `exit: true`, so a test that leaves a socket, server or timer open keeps the
// process alive. Rather than hang CI for its full budget, say what is still open and fail.
const LEAK_GRACE_MS = 15_000;

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await killAllSpawned();
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap');
      process.stderr.write(
        `\nmocha: the process is still alive ${LEAK_GRACE_MS / 1000} s after the last test; a test leaked: ${open.join(', ')}\n`,
      );
      // Mocha sets the exit code in its own 'exit' listener; this one runs after it.
      process.on('exit', () => {
        process.exitCode = 1;
      });
      process.exit(1);
    }, LEAK_GRACE_MS).unref();
    if (misaddressed.length) {
      throw new Error(
        `${misaddressed.length} plan step(s) of the ${plansSeen} plans made in this run name a node that is not a host:port address:\n${misaddressed.join('\n')}`,
      );
    }
  },
};
