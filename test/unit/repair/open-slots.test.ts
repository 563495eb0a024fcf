// Every open-slot case redis-cli --cluster fix handles, on the snapshot captured from a real
// cluster (slot 100 MIGRATING from master 0 to master 1, IMPORTING there), edited into each case:
// which ends say the slot is open, and how many keys each end holds (counted during collection).
import assert from 'node:assert/strict';
import { clusterScope } from '../../../src/cluster/scope';
import type { ClusterSnapshot } from '../../../src/cluster/types';
import { analyseSnapshot } from '../../../src/engine';
import { commandText } from '../../../src/repair/step-text';
import type { FixPlan } from '../../../src/repair/types';
import { validatePlan } from '../../../src/repair/validate';
import { loadFixture, nodesOf } from './fixtures';

const fixture = loadFixture('open-slot');
const nodes = nodesOf(fixture);
const source = nodes.find((n) => n.slots.some(([a]) => a === 0))!;
const target = nodes.find((n) => n.slots.some(([a]) => a === 5461))!;
const other = nodes.find((n) => n !== source && n !== target)!;

interface Edit {
  /** Keys each end holds in slot 100 (undefined: not counted). */
  sourceKeys?: number;
  targetKeys?: number;
  /** Drop the `[100->-…]` on the source or `[100-<-…]` on the target. */
  sourceOpen?: boolean;
  targetOpen?: boolean;
  /** The target already owns slot 100 in every view (SETSLOT NODE reached it, epoch bumped). */
  targetOwns?: boolean;
}

function snapshotWith(edit: Edit): ClusterSnapshot {
  const snapshot = structuredClone(fixture.snapshot);
  for (const probe of snapshot.probes) {
    const replies = probe.replies!;
    const me = replies.clusterNodes.split('\n').find((l) => l.includes('myself'))!;
    const isSource = me.startsWith(source.id);
    const isTarget = me.startsWith(target.id);
    let text = replies.clusterNodes;
    if (edit.sourceOpen === false && isSource) text = text.replace(/ \[100->-[0-9a-f]{40}\]/, '');
    if (edit.targetOpen === false && isTarget) text = text.replace(/ \[100-<-[0-9a-f]{40}\]/, '');
    if (edit.targetOwns) {
      // Slot 100 moves from the source's ranges to the target's, with a higher epoch, everywhere.
      text = text
        .split('\n')
        .map((line) => {
          const f = line.split(' ');
          if (f[0] === source.id) return line.replace(/ 0-5460/, ' 0-99 101-5460');
          if (f[0] === target.id) {
            f[6] = '99';
            return `${f.join(' ')} 100`;
          }
          return line;
        })
        .join('\n');
    }
    replies.clusterNodes = text;
    const count = isSource ? edit.sourceKeys : isTarget ? edit.targetKeys : undefined;
    if (isSource || isTarget) {
      if (count === undefined) delete replies.openSlotKeys;
      else replies.openSlotKeys = { 100: count };
    }
  }
  return snapshot;
}

function plansFor(edit: Edit): FixPlan[] {
  return analyseSnapshot(snapshotWith(edit)).report.fixes.filter((p) => p.action === 'CLOSE_OPEN_SLOTS');
}

const lines = (plan: FixPlan): string[] => plan.steps.map((s) => `${s.node}> ${commandText(s)}`);
const setslotNode = (...on: Array<{ addr: string }>): string[] => on.map((n) => `${n.addr}> CLUSTER SETSLOT 100 NODE ${target.id}`);
const [targetHost, targetPort] = target.addr.split(':');

describe('repair: open slots, every case, slot by slot', () => {
  it('no key on either end: undo and finish are both offered, each guarded by the count it relies on', () => {
    const plans = plansFor({ sourceKeys: 0, targetKeys: 0 });
    assert.deepEqual(
      plans.map((p) => p.title.split(':')[0]),
      ['Undo the interrupted migration of slot 100', 'Finish the interrupted migration of slot 100'],
    );
    assert.deepEqual(plans[0]!.checks, [{ kind: 'no-keys-in-slots', node: target.addr, slots: [100] }]);
    assert.deepEqual(plans[1]!.checks, [{ kind: 'no-keys-in-slots', node: source.addr, slots: [100] }]);
    assert.deepEqual(lines(plans[1]!), setslotNode(target, source, other));
  });

  it('keys on both ends: neither undo nor finish (both would be refused); the keys left on the source move first', () => {
    const plans = plansFor({ sourceKeys: 250, targetKeys: 40 });
    assert.equal(plans.length, 1, plans.map((p) => p.title).join('\n'));
    const plan = plans[0]!;
    assert.match(
      plan.title,
      new RegExp(
        `^Finish the interrupted migration of slot 100: move the 250 keys left on ${source.addr} to ${target.addr}, then give it to ${target.addr}`,
      ),
    );
    assert.deepEqual(plan.steps[0]!.command, ['MIGRATE', targetHost, targetPort, '', '0', '5000', 'REPLACE', 'KEYS']);
    assert.deepEqual(plan.steps[0]!.moveKeys, { slot: 100, to: target.id, batch: 100 });
    assert.equal(plan.steps[0]!.node, source.addr);
    assert.deepEqual(lines(plan).slice(1), setslotNode(target, source, other));
    assert.equal(plan.checks, undefined, 'no count check: the move empties the source whatever its count');
    assert.match(plan.preconditions.join('\n'), /Keys to move: 250 in 3 batches of up to 100: expected under a second, at most about 15 s/);
    assert.match(plan.preconditions.join('\n'), /MIGRATING from .* \(250 keys\) to .* \(40 keys\)/);
    assert.match(plan.dataLoss.text, /interrupted between its RESTORE and the DEL/);
    assert.deepEqual(plan.verify, { clusterOk: true, closedSlots: [100], slotOwners: [{ slot: 100, owner: target.id }] });
    assert.match(lines(plan)[0]!, /MIGRATE .* "" 0 5000 REPLACE KEYS <up to 100 keys of slot 100/);
  });

  it('keys on the source only: undo (nothing moves) or move them and finish', () => {
    const plans = plansFor({ sourceKeys: 5, targetKeys: 0 });
    assert.deepEqual(
      plans.map((p) => p.risk),
      ['low', 'medium'],
    );
    assert.match(plans[0]!.title, /^Undo/);
    assert.match(plans[1]!.title, /move the 5 keys left/);
  });

  it('keys on the target only: finish by SETSLOT alone (the migration moved everything)', () => {
    const plans = plansFor({ sourceKeys: 0, targetKeys: 7 });
    assert.deepEqual(
      plans.map((p) => p.title),
      [`Finish the interrupted migration of slot 100: give it to ${target.addr} (${source.addr} has no key of it left)`],
    );
  });

  it('keys not counted (COUNTKEYSINSLOT denied): undo guarded by a check, and the move (which works with any count)', () => {
    const plans = plansFor({});
    assert.match(plans[0]!.title, /^Undo/);
    assert.match(plans[1]!.title, /move the keys left/);
    assert.match(plans[1]!.preconditions.join('\n'), /Keys to move: not counted/);
  });

  it('the source alone migrating, the target holding no key: close it on the source', () => {
    const plans = plansFor({ sourceKeys: 3, targetKeys: 0, targetOpen: false });
    assert.equal(plans.length, 1);
    assert.deepEqual(lines(plans[0]!), [`${source.addr}> CLUSTER SETSLOT 100 STABLE`]);
    assert.deepEqual(plans[0]!.checks, [{ kind: 'no-keys-in-slots', node: target.addr, slots: [100] }]);
  });

  it('the source alone migrating, the target holding keys it no longer imports: import again, move, finish', () => {
    const plans = plansFor({ sourceKeys: 3, targetKeys: 9, targetOpen: false });
    assert.equal(plans.length, 1);
    const plan = plans[0]!;
    assert.deepEqual(plan.steps[0]!.command, ['CLUSTER', 'SETSLOT', '100', 'IMPORTING', source.id]);
    assert.equal(plan.steps[0]!.node, target.addr);
    assert.ok(plan.steps[1]!.command.includes('REPLACE'));
    assert.deepEqual(lines(plan).slice(2), setslotNode(target, source, other));
  });

  it("the target already owns the slot, the source still migrates it: move the source's keys without REPLACE, then SETSLOT NODE on the source and the rest", () => {
    const plans = plansFor({ sourceKeys: 4, targetKeys: 10, targetOpen: false, targetOwns: true });
    assert.equal(plans.length, 1, plans.map((p) => p.title).join('\n'));
    const plan = plans[0]!;
    assert.match(plan.title, /^Complete the handover of slot 100/);
    assert.deepEqual(plan.steps[0]!.command, ['MIGRATE', targetHost, targetPort, '', '0', '5000', 'KEYS']);
    assert.deepEqual(lines(plan).slice(1), setslotNode(source, other));
  });

  it('the target alone importing, holding no key: close it on the target', () => {
    const plans = plansFor({ sourceKeys: 3, targetKeys: 0, sourceOpen: false });
    assert.deepEqual(plans.map(lines), [[`${target.addr}> CLUSTER SETSLOT 100 STABLE`]]);
  });

  it('the target alone importing, holding keys: return them to the owner without REPLACE, then close it', () => {
    const plans = plansFor({ sourceKeys: 3, targetKeys: 12, sourceOpen: false });
    assert.equal(plans.length, 1);
    const [move, close] = plans[0]!.steps;
    const [sourceHost, sourcePort] = source.addr.split(':');
    assert.equal(move!.node, target.addr);
    assert.deepEqual(move!.command, ['MIGRATE', sourceHost, sourcePort, '', '0', '5000', 'KEYS']);
    assert.deepEqual(close!.command, ['CLUSTER', 'SETSLOT', '100', 'STABLE']);
    assert.match(plans[0]!.title, /^Return the 12 keys of slot 100 from/);
  });

  it("every plan passes the executor's allow-list (MIGRATE only in the key-move shape)", () => {
    const scope = {
      allowed: clusterScope({ seeds: nodes.map((n) => n.addr) }),
      nodes: nodes.map((n) => n.addr),
      ids: nodes.map((n) => n.id),
    };
    for (const edit of [
      { sourceKeys: 250, targetKeys: 40 },
      { sourceKeys: 3, targetKeys: 9, targetOpen: false },
      { sourceKeys: 3, targetKeys: 12, sourceOpen: false },
      { sourceKeys: 4, targetKeys: 10, targetOpen: false, targetOwns: true },
    ]) {
      for (const plan of plansFor(edit)) assert.deepEqual(validatePlan(plan, scope), [], plan.title);
    }
  });

  it('slots that share a case and both ends make one plan; another case is another plan', () => {
    const snapshot = snapshotWith({ sourceKeys: 0, targetKeys: 0 });
    for (const probe of snapshot.probes) {
      const r = probe.replies!;
      r.clusterNodes = r.clusterNodes
        .replace(/\[100->-([0-9a-f]{40})\]/, '[100->-$1] [101->-$1] [102->-$1]')
        .replace(/\[100-<-([0-9a-f]{40})\]/, '[100-<-$1] [101-<-$1] [102-<-$1]');
      const isSource = r.clusterNodes
        .split('\n')
        .find((l) => l.includes('myself'))!
        .startsWith(source.id);
      // Slot 102 still has 8 keys on the source: another case than 100 and 101.
      if (r.openSlotKeys) r.openSlotKeys = { 100: 0, 101: 0, 102: isSource ? 8 : 0 };
    }
    const plans = analyseSnapshot(snapshot).report.fixes.filter((p) => p.action === 'CLOSE_OPEN_SLOTS');
    const titles = plans.map((p) => p.title);
    assert.ok(
      titles.some((t) => t.startsWith('Undo the interrupted migration of slots 100, 101, 102')),
      titles.join('\n'),
    );
    assert.ok(
      titles.some((t) => t.startsWith('Finish the interrupted migration of slots 100, 101:')),
      titles.join('\n'),
    );
    assert.ok(
      titles.some((t) => /^Finish the interrupted migration of slot 102: move the 8 keys/.test(t)),
      titles.join('\n'),
    );
  });
});
