import { toRanges } from '../../cluster/slots';
import type { ModelNode } from '../../diagnosis/model';
import { identify } from '../fingerprint';
import type { FixPlan, PlanCheck, PlanStep } from '../types';
import { fullyCovered, liveMasters, name, type PlanContext } from './context';

interface OpenSlot {
  slot: number;
  /** Node that says MIGRATING (the owner), and where to. */
  source?: ModelNode;
  /** Node that says IMPORTING, and from where. */
  target?: ModelNode;
  /** The migration's other end as the open side names it. */
  sourceId: string;
  targetId: string;
  /** Both ends agree: source migrating to target, target importing from source. */
  paired: boolean;
}

/**
 * An interrupted migration leaves slots MIGRATING on the source and IMPORTING on the target.
 * Two ways to close it, each guarded by a key count the executor checks first:
 *  - undo (keep the slot on its owner): SETSLOT STABLE on both ends, source first so it stops
 *    sending ASK redirects; only safe while the target holds no key of the slot;
 *  - finish (give the slot to the target): SETSLOT NODE <target> on the target first (it bumps
 *    its epoch), then the source, then the other masters; only safe once the source is empty.
 */
export function closeOpenSlotsPlans(ctx: PlanContext): FixPlan[] {
  const open = openSlots(ctx);
  if (open.length === 0) return [];
  const plans = [undoPlan(ctx, open)];
  const paired = open.filter((o) => o.paired);
  if (paired.length > 0) plans.push(finishPlan(ctx, open));
  return plans;
}

function openSlots(ctx: PlanContext): OpenSlot[] {
  const bySlot = new Map<number, OpenSlot>();
  const get = (slot: number, sourceId: string, targetId: string): OpenSlot => {
    const entry = bySlot.get(slot) ?? { slot, sourceId, targetId, paired: false };
    bySlot.set(slot, entry);
    return entry;
  };
  for (const node of ctx.model.nodes.values()) {
    const me = node.own?.myself;
    if (!me || node.reachable !== true) continue;
    for (const { slot, to } of me.migrating) get(slot, node.id, to).source = node;
    for (const { slot, from } of me.importing) get(slot, from, node.id).target = node;
  }
  for (const entry of bySlot.values()) {
    entry.paired = entry.source !== undefined && entry.target !== undefined &&
      entry.source.id === entry.sourceId && entry.target.id === entry.targetId;
  }
  return [...bySlot.values()].sort((a, b) => a.slot - b.slot);
}

function undoPlan(ctx: PlanContext, open: OpenSlot[]): FixPlan {
  const steps: PlanStep[] = [];
  const checks: PlanCheck[] = [];
  for (const o of open) {
    if (o.source) steps.push({ node: o.source.addr, command: ['CLUSTER', 'SETSLOT', String(o.slot), 'STABLE'], why: `stop migrating slot ${o.slot}` });
    if (o.target) steps.push({ node: o.target.addr, command: ['CLUSTER', 'SETSLOT', String(o.slot), 'STABLE'], why: `stop importing slot ${o.slot}` });
  }
  for (const [addr, slots] of groupSlots(open.filter((o) => o.target).map((o) => [o.target!.addr, o.slot]))) {
    checks.push({ kind: 'no-keys-in-slots', node: addr, slots });
  }
  const slots = toRanges(open.map((o) => o.slot));
  const plan: Omit<FixPlan, 'id'> = {
    action: 'CLOSE_OPEN_SLOTS',
    title: `Undo the interrupted migration of ${slotList(open)}: keep ${open.length === 1 ? 'it' : 'them'} on ${ownersText(ctx, open)}`,
    fixes: ['OPEN_SLOTS'],
    risk: 'low',
    dataLoss: {
      slots: [],
      lastKnownKeys: null,
      text: 'None: refused unless the importing side holds no key of these slots (CLUSTER COUNTKEYSINSLOT is checked first), so every key stays where clients find it.',
    },
    preconditions: [
      ...open.map((o) => describe(ctx, o)),
      'No resharding is running right now (redis-cli --cluster reshard, an operator): closing slots under it breaks it.',
    ],
    steps,
    expected: 'No node reports an open slot; the slots stay with their owner' + (fullyCovered(ctx) ? ' and every node reports cluster_state:ok.' : '.'),
    executable: true,
    ...(checks.length ? { checks } : {}),
    verify: { clusterOk: fullyCovered(ctx), noOpenSlots: true },
  };
  return { ...identify({ ...plan, involved: involvedIds(open), nodes: ctx.report.nodes, extra: { slots } }), ...plan };
}

function finishPlan(ctx: PlanContext, open: OpenSlot[]): FixPlan {
  const steps: PlanStep[] = [];
  const checks: PlanCheck[] = [];
  const masters = liveMasters(ctx);
  for (const o of open) {
    if (!o.paired) {
      for (const n of [o.source, o.target]) if (n) steps.push({ node: n.addr, command: ['CLUSTER', 'SETSLOT', String(o.slot), 'STABLE'], why: `slot ${o.slot} is open on one side only` });
      continue;
    }
    const target = o.target!;
    const source = o.source!;
    const rest = masters.filter((m) => m.id !== target.id && m.id !== source.id);
    for (const n of [target, source, ...rest]) {
      steps.push({ node: n.addr, command: ['CLUSTER', 'SETSLOT', String(o.slot), 'NODE', target.id], why: n === target ? 'the target first: it takes the slot and bumps its epoch' : n === source ? 'then the source, which must hold no key of it' : 'then the others' });
    }
  }
  for (const [addr, slots] of groupSlots(open.filter((o) => o.paired).map((o) => [o.source!.addr, o.slot]))) {
    checks.push({ kind: 'no-keys-in-slots', node: addr, slots });
  }
  const paired = open.filter((o) => o.paired);
  const plan: Omit<FixPlan, 'id'> = {
    action: 'CLOSE_OPEN_SLOTS',
    title: `Finish the interrupted migration of ${slotList(paired)}: give ${paired.length === 1 ? 'it' : 'them'} to ${[...new Set(paired.map((o) => o.target!.addr))].join(', ')}`,
    fixes: ['OPEN_SLOTS'],
    risk: 'medium',
    dataLoss: {
      slots: [],
      lastKnownKeys: null,
      text: 'None: refused unless the source has no key left in these slots (CLUSTER COUNTKEYSINSLOT is checked first); the keys already moved stay on the target.',
    },
    preconditions: [
      ...open.map((o) => describe(ctx, o)),
      'Every key of these slots already reached the target (MIGRATE finished); otherwise undo instead.',
    ],
    steps,
    expected: 'The target owns the slots, no node reports an open slot' + (fullyCovered(ctx) ? ', and every node reports cluster_state:ok.' : '.'),
    executable: true,
    checks,
    verify: { clusterOk: fullyCovered(ctx), noOpenSlots: true },
  };
  return { ...identify({ ...plan, involved: [...involvedIds(open), ...masters.map((m) => m.id)], nodes: ctx.report.nodes }), ...plan };
}

function describe(ctx: PlanContext, o: OpenSlot): string {
  const other = (id: string): string => {
    const n = ctx.model.nodes.get(id);
    return n ? name(n) : id.slice(0, 8);
  };
  if (o.paired) return `Slot ${o.slot} is MIGRATING from ${name(o.source!)} to ${name(o.target!)}, which is IMPORTING it.`;
  if (o.source) return `Slot ${o.slot} is MIGRATING from ${name(o.source)} to ${other(o.targetId)}, which does not import it.`;
  return `Slot ${o.slot} is IMPORTING into ${name(o.target!)} from ${other(o.sourceId)}, which does not migrate it.`;
}

function involvedIds(open: OpenSlot[]): string[] {
  return open.flatMap((o) => [o.sourceId, o.targetId]);
}

function ownersText(ctx: PlanContext, open: OpenSlot[]): string {
  const owners = open.map((o) => ctx.model.owner[o.slot]).map((id) => (id ? ctx.model.nodes.get(id)?.addr ?? id.slice(0, 8) : 'no owner'));
  return [...new Set(owners)].join(', ');
}

function slotList(open: OpenSlot[]): string {
  return `slot${open.length === 1 ? '' : 's'} ${open.map((o) => o.slot).join(', ')}`;
}

function groupSlots(pairs: Array<[string, number]>): Array<[string, number[]]> {
  const out = new Map<string, number[]>();
  for (const [addr, slot] of pairs) out.set(addr, [...(out.get(addr) ?? []), slot]);
  return [...out.entries()].sort(([a], [b]) => a.localeCompare(b));
}
