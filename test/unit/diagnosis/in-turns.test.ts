// A big cluster's model and rules run in slices with a turn of the event loop between them (the
// monitor and the workers share their process with the Slack acks). Built in turns or at once,
// the model and the report are the same.
import assert from 'node:assert/strict';
import { diagnoseModel, diagnoseModelInTurns } from '../../../src/diagnosis/diagnose';
import { buildModel, buildModelInTurns } from '../../../src/diagnosis/model';
import { syntheticScenarios, syntheticSnapshot } from '../../fixtures/synthetic-clusters';

describe('diagnosis in turns', () => {
  it('gives the same report as the diagnosis at once, on every synthetic scenario', async () => {
    for (const { name, snapshot } of syntheticScenarios()) {
      const atOnce = diagnoseModel(buildModel(structuredClone(snapshot)));
      const inTurns = await diagnoseModelInTurns(await buildModelInTurns(structuredClone(snapshot), 0), 0);
      assert.deepEqual(inTurns, atOnce, name);
    }
  });

  it('lets other work run between the views of the model and between the rules', async () => {
    const snapshot = syntheticSnapshot('turns', { nodes: 40 });
    let turns = 0;
    let counting = true;
    const tick = (): void => {
      turns++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const model = await buildModelInTurns(snapshot, 0);
    const afterModel = turns;
    await diagnoseModelInTurns(model, 0);
    counting = false;
    assert.ok(afterModel >= 40, `other work ran ${afterModel} times while 40 views were read`);
    assert.ok(turns - afterModel >= 20, `other work ran ${turns - afterModel} times during the rules`);
  });
});
