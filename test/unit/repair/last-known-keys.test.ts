import assert from 'node:assert/strict';
import { diagnose } from '../../../src/diagnosis/diagnose';
import { planFixes } from '../../../src/repair/plan';
import { loadFixture } from './fixtures';

describe('repair: plans quote the key counts the monitor last saw on a dead master', () => {
  const fixture = loadFixture('master-down-no-replica');
  const report = diagnose(structuredClone(fixture.snapshot));
  const dead = report.nodes.find((n) => n.health === 'down' && n.slots.length > 0)!;

  it('says how many keys went with the slots it gives away, and when they were counted', () => {
    const lastKnown = new Map([[dead.id, { addr: dead.addr, keys: 1830, at: '2026-11-25T03:21:07.000Z' }]]);
    const plans = planFixes(report, fixture.snapshot, { spareNodes: fixture.spareNodes, lastKnown });
    const assign = plans.find((p) => p.action === 'ASSIGN_UNCOVERED_SLOTS')!;
    assert.equal(assign.dataLoss.lastKnownKeys, 1830);
    assert.match(assign.dataLoss.text, new RegExp(`about 1,830 keys were on ${dead.addr.replace(/\./g, '\\.')} at 03:21 UTC \\(2026-11-25\\)`));
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
    assert.match(assign.expected, /then serves these slots on top of its own: rebalance \(redis-cli --cluster rebalance\) once the incident is over/);
  });

  it('slots given back to the owner that dropped them need no rebalance', () => {
    const fixture = loadFixture('slots-dropped-by-owner');
    const report = diagnose(structuredClone(fixture.snapshot));
    const assign = planFixes(report, fixture.snapshot).find((p) => p.action === 'ASSIGN_UNCOVERED_SLOTS')!;
    assert.doesNotMatch(assign.expected, /rebalance/);
  });
});
