// Collection parses each node's CLUSTER NODES once, as its reply arrives, and the model, the
// rules and the monitor's light assessment read that parse: on a real cluster, where every node
// prints every other with its own ping/pong times, the lines a node is listed with are shared.
import assert from 'node:assert/strict';
import { collectSnapshot } from '../../../src/cluster/collect-snapshot';
import { buildModel } from '../../../src/diagnosis/model';
import { nodeStates } from '../../../src/incidents/assess';
import { useCluster } from '../../helpers/cluster';

describe('one parse per reply, shared (real 3 masters + 3 replicas)', function () {
  this.timeout(30_000);
  const cluster = useCluster({ masters: 3, replicasPerMaster: 1 });

  it('the lines of one collection are parsed once: the model and the light assessment reuse them, alike lines are one object', async () => {
    const snapshot = await collectSnapshot({
      cluster: 'test',
      seeds: [cluster().seeds[0]!],
      connectTimeoutMs: 500,
      commandTimeoutMs: 1000,
    });
    assert.equal(snapshot.probes.filter((p) => p.status === 'ok').length, 6);
    const first = buildModel(snapshot);
    const second = buildModel(snapshot);
    first.views.forEach((view, i) => {
      assert.equal(view.lines, second.views[i]!.lines, 'no second parse of the same reply');
    });

    const states = nodeStates(snapshot, Date.now());
    for (const view of first.views) assert.equal(states.find((s) => s.id === view.myself!.id)!.slots, view.myself!.slots);

    // 36 lines printed, each node by five others with their own pong times (when links are settled).
    const all = first.views.flatMap((v) => v.lines);
    assert.equal(all.length, 36);
    assert.ok(new Set(all).size <= 18, `${new Set(all).size} line objects for 36 lines`);
  });
});
