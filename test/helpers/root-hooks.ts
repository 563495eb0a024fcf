// Mocha root hooks shared by every test file. Cluster processes spawned by test helpers
// register themselves for a last-chance teardown here.
import { killAllSpawned } from '../../src/devtools/processes';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await killAllSpawned();
  },
};
