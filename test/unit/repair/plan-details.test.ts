import assert from 'node:assert/strict';
import { diagnose } from '../../../src/diagnosis/diagnose';
import { planFixes } from '../../../src/repair/plan';
import { analyseSnapshot } from '../../../src/engine';
import { editLines, loadFixture, nodesOf } from './fixtures';

describe('repair: plans quote the key counts the monitor last saw on a dead master', () => {
  const fixture = loadFixture('master-down-no-replica');
  const report = diagnose(structuredClone(fixture.snapshot));
  const dead = report.nodes.find((n) => n.health === 'down' && n.slots.length > 0)!;

  it('says how many keys went with the slots it gives away, and when they were counted', () => {
    const lastKnown = new Map([[dead.id, { addr: dead.addr, keys: 1830, at: '2026-11-25T03:21:07.000Z' }]]);
    const plans = planFixes(report, fixture.snapshot, { spareNodes: fixture.spareNodes, lastKnown });
    const assign = plans.find((p) => p.action === 'ASSIGN_UNCOVERED_SLOTS')!;
    assert.equal(assign.dataLoss.lastKnownKeys, 1830);
    assert.match(
      assign.dataLoss.text,
      new RegExp(`about 1,830 keys were on ${dead.addr.replace(/\./g, '\\.')} at 03:21 UTC \\(2026-11-25\\)`),
    );
  });

  it('keeps plan ids unchanged: history is not part of the fingerprint', () => {
    const without = planFixes(report, fixture.snapshot, { spareNodes: fixture.spareNodes }).map((p) => p.id);
    const withHistory = planFixes(report, fixture.snapshot, {
      spareNodes: fixture.spareNodes,
      lastKnown: new Map([[dead.id, { addr: dead.addr, keys: 5, at: '2026-11-25T03:21:07.000Z' }]]),
    }).map((p) => p.id);
    assert.deepEqual(withHistory, without);
  });

  it('leaves plans that lose nothing alone', () => {
    const lastKnown = new Map([[dead.id, { addr: dead.addr, keys: 1830, at: '2026-11-25T03:21:07.000Z' }]]);
    for (const plan of planFixes(report, fixture.snapshot, { spareNodes: fixture.spareNodes, lastKnown })) {
      if (plan.dataLoss.slots.length === 0) assert.equal(plan.dataLoss.lastKnownKeys, null, plan.action);
    }
  });
});

describe('repair: the slot reassignment says what is left to do afterwards', () => {
  it('the target serves the slots on top of its own: rebalance once the incident is over', () => {
    const fixture = loadFixture('master-down-no-replica');
    const report = diagnose(structuredClone(fixture.snapshot));
    const assign = planFixes(report, fixture.snapshot, { spareNodes: [] }).find((p) => p.action === 'ASSIGN_UNCOVERED_SLOTS')!;
    assert.match(
      assign.expected,
      /then serves these slots on top of its own: rebalance \(redis-cli --cluster rebalance\) once the incident is over/,
    );
  });

  it('slots given back to the owner that dropped them need no rebalance', () => {
    const fixture = loadFixture('slots-dropped-by-owner');
    const report = diagnose(structuredClone(fixture.snapshot));
    const assign = planFixes(report, fixture.snapshot).find((p) => p.action === 'ASSIGN_UNCOVERED_SLOTS')!;
    assert.doesNotMatch(assign.expected, /rebalance/);
  });
});

describe("repair: the ghost-forgetting plan id depends on the ghosts, not on the live nodes' epochs", () => {
  const fixture = loadFixture('ghost');
  const idOf = (snapshot: typeof fixture.snapshot): string => {
    const id = analyseSnapshot(snapshot, fixture.spareNodes).report.fixes.find((p) => p.action === 'FORGET_GHOST_NODES')?.id;
    assert.ok(id, 'a forget plan');
    return id;
  };
  const ghost = () => nodesOf(fixture).find((n) => n.flags.includes('fail') && n.slots.length === 0)!;

  it('stays when a live master bumps its epoch (the cluster settling after another repair)', () => {
    const live = nodesOf(fixture).find((n) => n.slots.length > 0)!;
    const bumped = editLines(fixture.snapshot, (f) =>
      f[0] === live.id ? [...f.slice(0, 6), String(Number(f[6]) + 10), ...f.slice(7)] : f,
    );
    assert.equal(idOf(bumped), idOf(structuredClone(fixture.snapshot)));
  });

  it("stays while Redis flips the dead ghost's flags (fail, none, fail?)", () => {
    const id = ghost().id;
    const base = idOf(structuredClone(fixture.snapshot));
    for (const flags of ['master', 'master,fail?']) {
      const flipped = editLines(fixture.snapshot, (f) => (f[0] === id ? [f[0]!, f[1]!, flags, ...f.slice(3)] : f));
      assert.equal(idOf(flipped), base, flags);
    }
  });

  it('changes when a live node no longer lists the ghost (the steps change)', () => {
    const id = ghost().id;
    const first = fixture.snapshot.probes.find((p) => p.status === 'ok')!;
    const edited = structuredClone(fixture.snapshot);
    const probe = edited.probes.find((p) => p.addr === first.addr)!;
    probe.replies!.clusterNodes = probe
      .replies!.clusterNodes.split('\n')
      .filter((l) => !l.startsWith(id))
      .join('\n');
    assert.notEqual(idOf(edited), idOf(structuredClone(fixture.snapshot)));
  });
});
