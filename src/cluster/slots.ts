// Slot arithmetic shared by parsing, diagnosis and repair plans.
export const SLOT_COUNT = 16384;

/** An inclusive range of hash slots, `[from, to]`. */
export type SlotRange = [number, number];

export function isSlot(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < SLOT_COUNT;
}

/** Compress a set (or sorted list) of slots into sorted inclusive ranges. */
export function toRanges(slots: Iterable<number>): SlotRange[] {
  const sorted = [...new Set(slots)].sort((a, b) => a - b);
  const ranges: SlotRange[] = [];
  for (const slot of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && slot === last[1] + 1) last[1] = slot;
    else ranges.push([slot, slot]);
  }
  return ranges;
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
