// Each CLUSTER NODES reply is parsed once, and a line that many views print alike (but for their
// own ping-sent/pong-recv times) is parsed once and shared: N views of N nodes make about 2N
// line objects, not N^2. The model, the rules and the monitor's light assessment read that one
// parse; evidence still quotes each view's own text, and a bad line is still named.
import assert from 'node:assert/strict';
import { firstSeenCoversAll, NodeLineCache, parsedClusterNodes } from '../../../src/cluster/parse-nodes';
import type { ClusterNodeLine, ClusterSnapshot } from '../../../src/cluster/types';
import { diagnose } from '../../../src/diagnosis/diagnose';
import { buildModel, lineEvidence } from '../../../src/diagnosis/model';
import { assessLightProbe, knownAddresses, nodeStates } from '../../../src/incidents/assess';
import { syntheticScenarios, syntheticSnapshot } from '../../fixtures/synthetic-clusters';

function distinctLines(snapshot: ClusterSnapshot): { lines: number; distinct: number } {
  const model = buildModel(snapshot);
  const all = model.views.flatMap((v) => v.lines);
  return { lines: all.length, distinct: new Set(all).size };
}

describe('shared parsing of CLUSTER NODES replies', () => {
  it('a node printed alike by 100 views (each with its own pong time) is one line object: about 2N objects, not N^2', () => {
    const snapshot = syntheticSnapshot('hundred', { nodes: 100 });
    const texts = snapshot.probes.map((p) => p.replies!.clusterNodes);
    // The views really differ in their text (ping/pong times, order).
    assert.equal(new Set(texts).size, 100);
    const { lines, distinct } = distinctLines(snapshot);
    assert.equal(lines, 100 * 100);
    // Each node: its own `myself` line, plus one line that the 99 others share.
    assert.equal(distinct, 200);
  });

  it('lines differing in anything but ping/pong are not shared', () => {
    const snapshot = syntheticSnapshot('partition', { nodes: 16, partition: { viewers: [0, 1], target: 5 } });
    const model = buildModel(snapshot);
    const target = model.nodes.get(model.views[5]!.myself!.id)!;
    const variants = new Set(target.seenBy.map((s) => s.line));
    assert.equal(variants.size, 2, 'flagged fail? by two views, plain master by the others');
    assert.deepEqual([...variants].map((l) => l.flags.join(',')).sort(), ['master', 'master,fail?']);
  });

  it('evidence quotes the text each view printed, its own pong time included', () => {
    const snapshot = syntheticSnapshot('healthy', { nodes: 16 });
    const model = buildModel(snapshot);
    const node = [...model.nodes.values()][3]!;
    for (const evidence of lineEvidence(node, 5).slice(1)) {
      const [, viewer, text] = /^\[(.+?)\] (.*)$/.exec(evidence)!;
      const view = snapshot.probes.find((p) => p.addr === viewer)!;
      assert.ok(view.replies!.clusterNodes.split('\n').includes(text!), `${viewer} printed ${text}`);
    }
    // Shared, yet quoted per view: the texts differ by their pong times.
    assert.equal(
      new Set(
        lineEvidence(node, 5)
          .slice(1)
          .map((e) => e.replace(/^\[.+?\] /, '')),
      ).size,
      5,
    );
  });

  it('the light assessment and the model read one parse of each reply', () => {
    const snapshot = syntheticSnapshot('healthy', { nodes: 16 });
    const states = nodeStates(snapshot, 0);
    knownAddresses(snapshot);
    const first = buildModel(snapshot);
    const second = buildModel(snapshot);
    first.views.forEach((view, i) => {
      assert.equal(view.lines, second.views[i]!.lines, 'the same parsed lines, not a second parse');
      assert.equal(states.find((s) => s.id === view.myself!.id)!.slots, view.myself!.slots);
    });
  });

  it('the light assessment reads each shared line once (as the parse marked it) and says what reading every line says', () => {
    for (const { name, snapshot } of syntheticScenarios()) {
      const unshared = structuredClone(snapshot);
      // As collection does: one cache per snapshot, replies parsed as they arrive (here last seed first).
      const cache = new NodeLineCache();
      for (const probe of [...snapshot.probes].reverse()) if (probe.replies) parsedClusterNodes(probe.replies, cache);
      assert.deepEqual(assessLightProbe(snapshot), assessLightProbe(unshared), name);
      assert.deepEqual(knownAddresses(snapshot), knownAddresses(unshared), name);
    }
  });

  it('a reply that fails half-way after giving lines to the cache makes the assessment read every line', () => {
    const snapshot = syntheticSnapshot('pfail', { nodes: 16, partition: { viewers: [0, 1], target: 5 } });
    const text = snapshot.probes[0]!.replies!.clusterNodes.split('\n');
    text.push('not a node line');
    snapshot.probes[0]!.replies!.clusterNodes = text.join('\n');
    const unshared = structuredClone(snapshot);
    const cache = new NodeLineCache();
    for (const probe of snapshot.probes) parsedClusterNodes(probe.replies!, cache);
    const readable = snapshot.probes.slice(1).map((p) => parsedClusterNodes(p.replies!));
    assert.equal(firstSeenCoversAll(readable), false, 'the broken reply kept lines that the others share');
    assert.deepEqual(assessLightProbe(snapshot), assessLightProbe(unshared));
    assert.deepEqual(knownAddresses(snapshot), knownAddresses(unshared));
  });

  it("shared lines cannot be changed by one reader behind the others' backs", () => {
    const model = buildModel(syntheticSnapshot('healthy', { nodes: 16 }));
    const shared = model.views[0]!.lines.find((l) => !l.flags.includes('myself'))!;
    assert.ok(Object.isFrozen(shared) && Object.isFrozen(shared.slots) && Object.isFrozen(shared.flags));
    assert.throws(() => {
      (shared.slots as Array<[number, number]>).push([1, 2]);
    });
  });

  it('a line that other views printed fine is still fully checked where it is broken, and the error names it', () => {
    const snapshot = syntheticSnapshot('broken', { nodes: 16 });
    const text = snapshot.probes[2]!.replies!.clusterNodes.split('\n');
    // Line 4 of the third view: a line the others print alike, with a pong time that is no number.
    text[3] = text[3]!.replace(/^(\S+ \S+ \S+ \S+ \d+) \d+ /, '$1 12x4 ');
    snapshot.probes[2]!.replies!.clusterNodes = text.join('\n');
    const model = buildModel(snapshot);
    assert.match(model.views[2]!.parseError ?? '', /^line 4: pong-recv must be a non-negative integer, got "12x4"/);
    assert.equal(model.views[1]!.parseError, undefined);
    const report = diagnose(snapshot);
    assert.ok(report.nodes.length === 16);
  });

  it('replies with CR LF, tabs or doubled spaces parse as before (each line on its own)', () => {
    const snapshot = syntheticSnapshot('odd', { nodes: 16, crlfView: 1, oddSpacingView: 2 });
    const model = buildModel(snapshot);
    const ids = (lines: ClusterNodeLine[]): string[] => lines.map((l) => l.id).sort();
    assert.deepEqual(ids(model.views[1]!.lines), ids(model.views[0]!.lines));
    assert.deepEqual(ids(model.views[2]!.lines), ids(model.views[0]!.lines));
    assert.ok(model.views.every((v) => v.parseError === undefined));
  });
});
