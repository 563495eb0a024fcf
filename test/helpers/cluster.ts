// Real Redis clusters for tests: the spawner lives in src/devtools (the `demo` command uses it
// too); this adds the mocha lifecycle.
import { spawnCluster, type SpawnClusterOptions, type TestCluster } from '../../src/devtools/local-cluster';

export * from '../../src/devtools/local-cluster';

/** Mocha convenience: spawns in before(), tears down in after(); returns a getter. */
export function useCluster(opts: SpawnClusterOptions): () => TestCluster {
  let cluster: TestCluster | undefined;
  before(async function () {
    this.timeout(60_000);
    cluster = await spawnCluster(opts);
  });
  after(async function () {
    this.timeout(30_000);
    await cluster?.teardown();
    cluster = undefined;
  });
  return () => {
    if (!cluster) throw new Error('useCluster: no cluster (used outside a test, or its before() hook failed)');
    return cluster;
  };
}
