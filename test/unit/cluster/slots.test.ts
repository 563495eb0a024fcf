// Slot sets as ranges: the range arithmetic must give exactly what slot-by-slot set code gives
// (the planner used that before), on random inputs in any order, overlapping and touching.
import assert from 'node:assert/strict';
import {
  intersectRanges,
  mergeRanges,
  rangesOverlap,
  SLOT_COUNT,
  slotsOf,
  subtractRanges,
  toRanges,
  type SlotRange,
} from '../../../src/cluster/slots';

function naiveRanges(slots: Iterable<number>): SlotRange[] {
  const ranges: SlotRange[] = [];
  for (const slot of [...new Set(slots)].sort((a, b) => a - b)) {
    const last = ranges[ranges.length - 1];
    if (last && slot === last[1] + 1) last[1] = slot;
    else ranges.push([slot, slot]);
  }
  return ranges;
}

// A small deterministic generator: the same cases on every run.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function randomRanges(next: () => number, max = 8): SlotRange[] {
  const count = Math.floor(next() * max);
  return Array.from({ length: count }, () => {
    // Mostly small ranges near a few hot spots, so that touching and overlapping happen often.
    const from = Math.floor(next() * 4) * 4096 + Math.floor(next() * 64) + (next() < 0.1 ? SLOT_COUNT - 80 - 4096 * 3 : 0);
    const to = Math.min(SLOT_COUNT - 1, from + Math.floor(next() * (next() < 0.2 ? 5000 : 40)));
    return [from, to] as SlotRange;
  });
}

describe('slot ranges', () => {
  it('toRanges compresses any order with duplicates, as a sorted set would', () => {
    const next = random(7);
    for (let i = 0; i < 300; i++) {
      const slots = Array.from({ length: Math.floor(next() * 200) }, () => Math.floor(next() * SLOT_COUNT));
      slots.push(...slotsOf(randomRanges(next)));
      assert.deepEqual(toRanges(slots), naiveRanges(slots));
    }
    assert.deepEqual(toRanges([]), []);
    assert.deepEqual(toRanges([16383, 0, 1, 16382]), [
      [0, 1],
      [16382, 16383],
    ]);
  });

  it('subtractRanges, intersectRanges and mergeRanges match slot-by-slot set code', () => {
    const next = random(11);
    for (let i = 0; i < 500; i++) {
      const a = randomRanges(next);
      const b = randomRanges(next);
      const inB = new Set(slotsOf(b));
      assert.deepEqual(
        subtractRanges(a, b),
        naiveRanges([...slotsOf(a)].filter((s) => !inB.has(s))),
        `${JSON.stringify(a)} - ${JSON.stringify(b)}`,
      );
      assert.deepEqual(
        intersectRanges(a, b),
        naiveRanges([...slotsOf(a)].filter((s) => inB.has(s))),
        `${JSON.stringify(a)} & ${JSON.stringify(b)}`,
      );
      assert.deepEqual(mergeRanges([...a, ...b]), naiveRanges([...slotsOf(a), ...slotsOf(b)]));
      assert.equal(
        rangesOverlap(a, b),
        [...slotsOf(a)].some((s) => inB.has(s)),
      );
    }
  });

  it('edges: empty sides, the whole range, single slots', () => {
    const all: SlotRange[] = [[0, SLOT_COUNT - 1]];
    assert.deepEqual(subtractRanges(all, []), all);
    assert.deepEqual(subtractRanges([], all), []);
    assert.deepEqual(
      subtractRanges(all, [
        [0, 0],
        [16383, 16383],
        [5, 9],
      ]),
      [
        [1, 4],
        [10, 16382],
      ],
    );
    assert.deepEqual(
      intersectRanges(all, [
        [7, 7],
        [3, 3],
      ]),
      [
        [3, 3],
        [7, 7],
      ],
    );
    assert.deepEqual(intersectRanges([[0, 10]], [[11, 20]]), []);
  });
});
