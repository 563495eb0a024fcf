// Slot arithmetic shared by parsing, diagnosis and repair plans.
export const SLOT_COUNT = 16384;

/** An inclusive range of hash slots, `[from, to]`. */
export type SlotRange = [number, number];

export function isSlot(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < SLOT_COUNT;
}

/**
 * Compress a set (or list, any order, duplicates allowed) of slots into sorted inclusive ranges.
 * A bitmap of the 16384 slots, not a sort: linear in the input.
 */
export function toRanges(slots: Iterable<number>): SlotRange[] {
  const present = new Uint8Array(SLOT_COUNT);
  const outside: number[] = [];
  for (const slot of slots) {
    if (isSlot(slot)) present[slot] = 1;
    else outside.push(slot);
  }
  // Not slots at all (a caller's bug): kept, in order, as the old sort-based version did.
  if (outside.length > 0) return toRangesSorted([...new Set([...slotsOfBitmap(present), ...outside])].sort((a, b) => a - b));
  return rangesOfBitmap(present);
}

function* slotsOfBitmap(present: Uint8Array): Generator<number> {
  for (let slot = 0; slot < present.length; slot++) if (present[slot]) yield slot;
}

function rangesOfBitmap(present: Uint8Array): SlotRange[] {
  const ranges: SlotRange[] = [];
  const count = present.length;
  for (let slot = 0; slot < count; slot++) {
    if (!present[slot]) continue;
    const from = slot;
    while (slot + 1 < count && present[slot + 1]) slot++;
    ranges.push([from, slot]);
  }
  return ranges;
}

function toRangesSorted(sorted: number[]): SlotRange[] {
  const ranges: SlotRange[] = [];
  for (const slot of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && slot === last[1] + 1) last[1] = slot;
    else ranges.push([slot, slot]);
  }
  return ranges;
}

/** Slots in `ranges` and not in `minus`, as sorted joined ranges (any order and overlap in). */
export function subtractRanges(ranges: readonly SlotRange[], minus: readonly SlotRange[]): SlotRange[] {
  const out: SlotRange[] = [];
  const drop = mergeRanges(minus);
  let d = 0;
  for (const [from, to] of mergeRanges(ranges)) {
    let cursor = from;
    while (d < drop.length && drop[d]![1] < cursor) d++;
    for (let i = d; i < drop.length && drop[i]![0] <= to && cursor <= to; i++) {
      const [a, b] = drop[i]!;
      if (a > cursor) out.push([cursor, a - 1]);
      cursor = Math.max(cursor, b + 1);
    }
    if (cursor <= to) out.push([cursor, to]);
  }
  return out;
}

/** Slots in both, as sorted joined ranges. */
export function intersectRanges(a: readonly SlotRange[], b: readonly SlotRange[]): SlotRange[] {
  const left = mergeRanges(a);
  const right = mergeRanges(b);
  const out: SlotRange[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) {
    const from = Math.max(left[i]![0], right[j]![0]);
    const to = Math.min(left[i]![1], right[j]![1]);
    if (from <= to) out.push([from, to]);
    if (left[i]![1] < right[j]![1]) i++;
    else j++;
  }
  return mergeRanges(out);
}

/** Whether any slot is in both. */
export function rangesOverlap(a: readonly SlotRange[], b: readonly SlotRange[]): boolean {
  return intersectRanges(a, b).length > 0;
}

export function* slotsOf(ranges: readonly SlotRange[]): Generator<number> {
  for (const [from, to] of ranges) for (let s = from; s <= to; s++) yield s;
}

export function countSlots(ranges: readonly SlotRange[]): number {
  return ranges.reduce((sum, [from, to]) => sum + (to - from + 1), 0);
}

export function formatRanges(ranges: readonly SlotRange[]): string {
  if (ranges.length === 0) return 'none';
  return ranges.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(', ');
}

/** Sort ranges and join those that touch or overlap. */
export function mergeRanges(ranges: readonly SlotRange[]): SlotRange[] {
  const sorted = ranges.map((r): SlotRange => [r[0], r[1]]).sort((a, b) => a[0] - b[0]);
  const out: SlotRange[] = [];
  for (const range of sorted) {
    const last = out[out.length - 1];
    if (last && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
    else out.push(range);
  }
  return out;
}
