// Spawn options: defaults, validation, and how slots are split over masters.
import type { SpawnClusterOptions } from './types';

export const TOTAL_SLOTS = 16384;

export type SlotRange = [number, number];

export interface ClusterConfig {
  masters: number;
  replicasPerMaster: number;
  spares: number;
  nodeTimeoutMs: number;
  requireFullCoverage: boolean;
  password: string | undefined;
  persistence: 'none' | 'aof';
  slotPlan: SlotRange[][]; // per master, in master order
  expectOk: boolean; // whether the built cluster can reach cluster_state:ok
}

export function normalizeOptions(opts: SpawnClusterOptions): ClusterConfig {
  const masters = requireCount('masters', opts.masters, 1);
  const slotPlan = planSlots(opts.slots ?? [[0, TOTAL_SLOTS - 1]], masters);
  const assigned = slotPlan.flat().reduce((sum, [from, to]) => sum + to - from + 1, 0);
  const requireFullCoverage = opts.requireFullCoverage ?? true;
  return {
    masters,
    replicasPerMaster: requireCount('replicasPerMaster', opts.replicasPerMaster ?? 0, 0),
    spares: requireCount('spares', opts.spares ?? 0, 0),
    nodeTimeoutMs: requireCount('nodeTimeoutMs', opts.nodeTimeoutMs ?? 1000, 1),
    requireFullCoverage,
    password: opts.password,
    persistence: opts.persistence ?? 'none',
    slotPlan,
    // With unassigned slots a full-coverage cluster can only ever say fail.
    expectOk: assigned === TOTAL_SLOTS || !requireFullCoverage,
  };
}

function requireCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new Error(`spawnCluster: ${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/**
 * Splits the given slots evenly over the masters in slot order, with the same rounding as
 * `redis-cli --cluster create` (3 masters over 0-16383: 0-5460, 5461-10922, 10923-16383).
 */
export function planSlots(ranges: SlotRange[], masters: number): SlotRange[][] {
  const slots = expandRanges(ranges);
  if (slots.length < masters) throw new Error(`spawnCluster: ${slots.length} slots cannot be split over ${masters} masters`);
  const perMaster = slots.length / masters;
  const plan: SlotRange[][] = [];
  let first = 0;
  for (let i = 0; i < masters; i++) {
    const last = i === masters - 1 ? slots.length - 1 : Math.round(perMaster * (i + 1) - 1);
    plan.push(compressSlots(slots.slice(first, last + 1)));
    first = last + 1;
  }
  return plan;
}

function expandRanges(ranges: SlotRange[]): number[] {
  const used = new Uint8Array(TOTAL_SLOTS);
  for (const [from, to] of ranges) {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to >= TOTAL_SLOTS || from > to) {
      throw new Error(`spawnCluster: invalid slot range [${from}, ${to}]`);
    }
    for (let slot = from; slot <= to; slot++) {
      if (used[slot]) throw new Error(`spawnCluster: slot ${slot} appears in more than one range`);
      used[slot] = 1;
    }
  }
  const slots: number[] = [];
  used.forEach((flag, slot) => {
    if (flag) slots.push(slot);
  });
  return slots;
}

function compressSlots(sorted: number[]): SlotRange[] {
  const out: SlotRange[] = [];
  for (const slot of sorted) {
    const current = out[out.length - 1];
    if (current && current[1] === slot - 1) current[1] = slot;
    else out.push([slot, slot]);
  }
  return out;
}
