import { openSlotKeys, type ModelNode } from '../../diagnosis/model';
import { movingSlots } from '../../diagnosis/rules/transitions';
import { plural } from '../../text';
import { identify } from '../fingerprint';
import type { FixPlan, PlanCheck, PlanStep, Risk } from '../types';
import { byAddr, fullyCovered, liveMasters, name, type PlanContext } from './context';

/** Keys per MIGRATE: redis-cli moves 10 at a time; 100 small keys are still one short round trip. */
export const MOVE_BATCH = 100;
/** MIGRATE's own timeout (ms of idle I/O towards the receiving node), for each batch. */
export const MIGRATE_TIMEOUT_MS = 5000;
/**
 * Expected time of one batch of 100 small keys, for the estimate shown to people. Measured with
 * `npm run bench` (bench/migrate.ts) on loopback: a few ms; set with room for a real network.
 */
export const EXPECTED_MS_PER_BATCH = 20;

/**
 * How one open slot can be closed, decided from who says what and where the keys are
 * (CLUSTER COUNTKEYSINSLOT on both ends, counted during collection), so that a plan whose
 * precondition is already false is never offered:
 *  - undo:          S MIGRATING to T, T IMPORTING from S, T holds no key: STABLE on S, then T.
 *  - finish:        the same pair, S holds no key: SETSLOT NODE T on T first, then S, then the rest.
 *  - move-finish:   the same pair, keys left on S: MIGRATE them to T in batches (REPLACE, see
 *                   below), then finish.
 *  - reopen-finish: S MIGRATING to T, T no longer importing but holding keys of the slot
 *                   (only its import was closed): IMPORTING on T again, then move-finish.
 *  - close-source:  S MIGRATING, T not importing and holding no key (or gone): STABLE on S.
 *  - handover:      S MIGRATING to T, which already owns the slot (SETSLOT NODE reached T only):
 *                   move S's keys to T without REPLACE, then SETSLOT NODE T on S and the rest.
 *  - close-target:  T IMPORTING alone, holding no key: STABLE on T.
 *  - return-keys:   T IMPORTING alone, holding keys: MIGRATE them to the slot's owner without
 *                   REPLACE, then STABLE on T.
 *
 * Why REPLACE is safe in move-finish and reopen-finish, and only there: while S is MIGRATING and
 * the owner, S answers every command for a key it holds and sends clients to T (ASK) only for
 * keys it does not hold. So for a key present on S, S's copy is the only one any client has read
 * or written since the migration began. A key of the same name on T can only be a copy made by a
 * MIGRATE interrupted after T's RESTORE and before S's DEL: the same value, or an older one if a
 * client wrote to S since. Replacing it with S's copy loses nothing a client could see. Moves
 * towards a node that already serves the slot (handover, return-keys) never replace: there the
 * receiving node's copy is the visible one, and a duplicate stops the move for a person to look at.
 * The executor checks the MIGRATING/IMPORTING pair itself right before a REPLACE move.
 *
 * One plan per slot and case (slots are grouped only when they share the case and both ends), so
 * one slot that cannot be closed does not hold the others back.
 */
export function closeOpenSlotsPlans(ctx: PlanContext): FixPlan[] {
  // Keys moving while we looked: a resharding at work, which closes its slots itself.
  const moving = movingSlots(ctx.model);
  const options = openSlots(ctx)
    .filter((o) => !moving.has(o.slot))
    .flatMap((o) => optionsFor(ctx, o));
  const groups = new Map<string, SlotOption[]>();
  for (const option of options) {
    const key = [option.kind, option.source?.id, option.target?.id, option.dest?.id].join('|');
    groups.set(key, [...(groups.get(key) ?? []), option]);
  }
  return [...groups.values()].map((group) => buildPlan(ctx, group));
}

interface OpenSlot {
  slot: number;
  migrating: Array<{ node: ModelNode; to: string }>;
  importing: Array<{ node: ModelNode; from: string }>;
}

type Kind = 'undo' | 'finish' | 'move-finish' | 'reopen-finish' | 'close-source' | 'handover' | 'close-target' | 'return-keys';

interface SlotOption {
  kind: Kind;
  slot: number;
  /** The MIGRATING end (or the end named by the importing side). */
  source: ModelNode | undefined;
  /** The IMPORTING end (or the end named by the migrating side). */
  target: ModelNode | undefined;
  /** Where keys move to, when they move. */
  dest?: ModelNode;
  /** Keys to move (null: not counted); 0 when nothing moves. */
  keysToMove: number | null;
  steps: PlanStep[];
  checks: PlanCheck[];
  /** Ids whose state the option depends on (beyond source, target, dest). */
  involved: string[];
  /** The node the slot ends up with. */
  owner: ModelNode;
}

function openSlots(ctx: PlanContext): OpenSlot[] {
  const bySlot = new Map<number, OpenSlot>();
  const get = (slot: number): OpenSlot => {
    const entry = bySlot.get(slot) ?? { slot, migrating: [], importing: [] };
    bySlot.set(slot, entry);
    return entry;
  };
  // Only nodes with an open slot are sorted (the same order as sorting all, then skipping the others).
  const open = [...ctx.model.nodes.values()].filter((n) => {
    const me = n.own?.myself;
    return me !== undefined && n.reachable === true && (me.migrating.length > 0 || me.importing.length > 0);
  });
  for (const node of open.sort(byAddr)) {
    const me = node.own!.myself!;
    for (const { slot, to } of me.migrating) get(slot).migrating.push({ node, to });
    for (const { slot, from } of me.importing) get(slot).importing.push({ node, from });
  }
  return [...bySlot.values()].sort((a, b) => a.slot - b.slot);
}

function optionsFor(ctx: PlanContext, open: OpenSlot): SlotOption[] {
  const { slot } = open;
  // Several nodes migrating or importing one slot: no safe automatic answer (redis-cli gives up too).
  if (open.migrating.length > 1 || open.importing.length > 1) return [];
  const m = open.migrating[0];
  const i = open.importing[0];
  const live = (id: string | undefined): ModelNode | undefined => {
    const node = id ? ctx.model.nodes.get(id) : undefined;
    return node && node.reachable === true && node.own && node.role === 'master' ? node : undefined;
  };
  const ownerId = ctx.model.owner[slot] ?? undefined;
  const base = { slot, involved: [] as string[] };

  if (m && i) {
    const S = m.node;
    const T = i.node;
    // Open on both ends but not towards each other, or the cluster routes the slot elsewhere.
    if (m.to !== T.id || i.from !== S.id || ownerId !== S.id) return [];
    const ks = openSlotKeys(S, slot);
    const kt = openSlotKeys(T, slot);
    const out: SlotOption[] = [];
    if (kt === undefined || kt === 0) {
      out.push({
        ...base,
        kind: 'undo',
        source: S,
        target: T,
        keysToMove: 0,
        owner: S,
        steps: [
          stable(S, slot, 'the source first: it stops sending clients to the target (ASK)'),
          stable(T, slot, 'then the target stops importing'),
        ],
        checks: [{ kind: 'no-keys-in-slots', node: T.addr, slots: [slot] }],
      });
    }
    if (ks === 0) {
      out.push({
        ...base,
        kind: 'finish',
        source: S,
        target: T,
        keysToMove: 0,
        owner: T,
        steps: handOver(ctx, slot, S, T),
        checks: [{ kind: 'no-keys-in-slots', node: S.addr, slots: [slot] }],
        involved: restIds(ctx, S, T),
      });
    } else {
      out.push({
        ...base,
        kind: 'move-finish',
        source: S,
        target: T,
        dest: T,
        keysToMove: ks ?? null,
        owner: T,
        steps: [moveKeys(S, T, slot, true), ...handOver(ctx, slot, S, T)],
        checks: [],
        involved: restIds(ctx, S, T),
      });
    }
    return out;
  }

  if (m) {
    const S = m.node;
    const T = live(m.to);
    const kt = T ? openSlotKeys(T, slot) : undefined;
    const ks = openSlotKeys(S, slot);
    if (ownerId === S.id) {
      if (T && kt !== undefined && kt > 0) {
        return [
          {
            ...base,
            kind: 'reopen-finish',
            source: S,
            target: T,
            dest: T,
            keysToMove: ks ?? null,
            owner: T,
            steps: [
              {
                node: T.addr,
                command: ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', S.id],
                why: `import slot ${slot} again: the target holds ${plural(kt, 'key')} of it that clients cannot reach`,
              },
              moveKeys(S, T, slot, true),
              ...handOver(ctx, slot, S, T),
            ],
            checks: [],
            involved: restIds(ctx, S, T),
          },
        ];
      }
      return [
        {
          ...base,
          kind: 'close-source',
          source: S,
          target: T ?? ctx.model.nodes.get(m.to),
          keysToMove: 0,
          owner: S,
          steps: [stable(S, slot, 'stop migrating: the other end does not import it')],
          checks: T ? [{ kind: 'no-keys-in-slots', node: T.addr, slots: [slot] }] : [],
        },
      ];
    }
    if (T && ownerId === T.id) {
      return [
        {
          ...base,
          kind: 'handover',
          source: S,
          target: T,
          dest: T,
          keysToMove: ks === 0 ? 0 : (ks ?? null),
          owner: T,
          steps: [...(ks === 0 ? [] : [moveKeys(S, T, slot, false)]), ...handOver(ctx, slot, S, T).filter((s) => s.node !== T.addr)],
          checks: [],
          involved: restIds(ctx, S, T),
        },
      ];
    }
    return [];
  }

  if (i) {
    const T = i.node;
    const owner = live(ownerId);
    if (!owner || owner.id === T.id || owner.health !== 'up') return [];
    const kt = openSlotKeys(T, slot);
    const source = ctx.model.nodes.get(i.from);
    if (kt === 0) {
      return [
        {
          ...base,
          kind: 'close-target',
          source,
          target: T,
          keysToMove: 0,
          owner,
          steps: [stable(T, slot, 'stop importing: the other end does not migrate it')],
          checks: [{ kind: 'no-keys-in-slots', node: T.addr, slots: [slot] }],
        },
      ];
    }
    return [
      {
        ...base,
        kind: 'return-keys',
        source,
        target: T,
        dest: owner,
        keysToMove: kt ?? null,
        owner,
        steps: [moveKeys(T, owner, slot, false), stable(T, slot, 'then stop importing')],
        checks: [],
        involved: [owner.id],
      },
    ];
  }
  return [];
}

function stable(node: ModelNode, slot: number, why: string): PlanStep {
  return { node: node.addr, command: ['CLUSTER', 'SETSLOT', String(slot), 'STABLE'], why };
}

/** SETSLOT NODE <target>: the target first (it takes the slot and bumps its epoch), the source, then the rest. */
function handOver(ctx: PlanContext, slot: number, source: ModelNode, target: ModelNode): PlanStep[] {
  const rest = liveMasters(ctx).filter((n) => n.id !== source.id && n.id !== target.id);
  return [target, source, ...rest].map((n) => ({
    node: n.addr,
    command: ['CLUSTER', 'SETSLOT', String(slot), 'NODE', target.id],
    why:
      n === target
        ? 'the target first: it takes the slot and bumps its epoch'
        : n === source
          ? 'then the source, which holds no key of it any more'
          : 'then the others, so no client is sent to the old owner',
  }));
}

function restIds(ctx: PlanContext, source: ModelNode, target: ModelNode): string[] {
  return liveMasters(ctx)
    .filter((n) => n.id !== source.id && n.id !== target.id)
    .map((n) => n.id);
}

function moveKeys(from: ModelNode, to: ModelNode, slot: number, replace: boolean): PlanStep {
  return {
    node: from.addr,
    command: ['MIGRATE', to.host, String(to.port), '', '0', String(MIGRATE_TIMEOUT_MS), ...(replace ? ['REPLACE'] : []), 'KEYS'],
    why: `move every key of slot ${slot} to ${to.addr}, ${MOVE_BATCH} at a time (CLUSTER GETKEYSINSLOT)${replace ? "; REPLACE: the source's copy is the one clients see" : ''}`,
    moveKeys: { slot, to: to.id, batch: MOVE_BATCH },
  };
}

// ---- one plan per group of slots that share a case and both ends ---------------------------

function buildPlan(ctx: PlanContext, group: SlotOption[]): FixPlan {
  const first = group[0]!;
  const { kind, source, target, dest } = first;
  const slots = group.map((o) => o.slot);
  const slotText = `slot${slots.length === 1 ? '' : 's'} ${slots.join(', ')}`;
  const it = slots.length === 1 ? 'it' : 'them';
  const keys = totalKeys(group);
  const src = source ? source.addr || source.id.slice(0, 8) : 'its source';
  const tgt = target ? target.addr || target.id.slice(0, 8) : 'its target';
  const owner = first.owner;
  const moving = group.some((o) => o.steps.some((s) => s.moveKeys));

  const text: Record<Kind, { title: string; risk: Risk; dataLoss: string; expected: string }> = {
    undo: {
      title: `Undo the interrupted migration of ${slotText}: keep ${it} on ${src}`,
      risk: 'low',
      dataLoss: `None: ${tgt} holds no key of ${it} (CLUSTER COUNTKEYSINSLOT, checked again before the first step), so every key stays where clients find it.`,
      expected: `${src} keeps ${slotText}; no node reports ${it} open`,
    },
    finish: {
      title: `Finish the interrupted migration of ${slotText}: give ${it} to ${tgt} (${src} has no key of ${it} left)`,
      risk: 'medium',
      dataLoss: `None: every key of ${slotText} already is on ${tgt}; ${src} holds none (checked again before the first step).`,
      expected: `${tgt} owns ${slotText} in every view; no node reports ${it} open`,
    },
    'move-finish': {
      title: `Finish the interrupted migration of ${slotText}: move ${keysText(keys)} left on ${src} to ${tgt}, then give ${it} to ${tgt}`,
      risk: 'medium',
      dataLoss: `None: every key moves with MIGRATE (copied, then deleted on ${src} only once ${tgt} has it). A key already on both ends is replaced by ${src}'s copy, the one clients have been reading: ${tgt}'s copy is left over from a MIGRATE interrupted between its RESTORE and the DEL on ${src}.`,
      expected: `${tgt} owns ${slotText} with all ${it === 'it' ? 'its' : 'their'} keys; no node reports ${it} open`,
    },
    'reopen-finish': {
      title: `Finish the migration of ${slotText}: ${tgt} stopped importing but holds keys of ${it}; import again, move ${keysText(keys)} left on ${src}, give ${it} to ${tgt}`,
      risk: 'medium',
      dataLoss: `None: the keys ${tgt} holds become reachable again, and ${src}'s keys move with MIGRATE; a key on both ends keeps ${src}'s copy, the one clients have been reading.`,
      expected: `${tgt} owns ${slotText} with all ${it === 'it' ? 'its' : 'their'} keys; no node reports ${it} open`,
    },
    'close-source': {
      title: `Close ${slotText} on ${src}: ${tgt} does not import ${it}${target?.reachable === true ? ` and holds no key of ${it}` : ''}`,
      risk: target?.reachable === true ? 'low' : 'medium',
      dataLoss:
        target?.reachable === true
          ? `None: ${tgt} holds no key of ${it} (checked again before the first step); ${src} keeps ${it === 'it' ? 'its' : 'their'} keys.`
          : `${tgt} did not answer, so its keys of ${slotText} (written there through ASK redirects since the migration began) cannot be counted: they stay out of reach on it. ${src} keeps its keys.`,
      expected: `${src} keeps ${slotText}; no node reports ${it} open`,
    },
    handover: {
      title: `Complete the handover of ${slotText} to ${tgt}, which already owns ${it}: ${keys === 0 ? '' : `move ${keysText(keys)} left on ${src}, then `}close ${it} on ${src}`,
      risk: 'medium',
      dataLoss: `None expected: ${src}'s keys of ${slotText} are out of reach now (clients are sent to ${tgt}) and move to ${tgt} without REPLACE; a key that exists on both stops the move, for a person to compare.`,
      expected: `${tgt} owns ${slotText} in every view; no node reports ${it} open`,
    },
    'close-target': {
      title: `Close ${slotText} on ${tgt}: ${src} does not migrate ${it} and ${tgt} holds no key of ${it}`,
      risk: 'low',
      dataLoss: `None: ${tgt} holds no key of ${it} (checked again before the first step).`,
      expected: `${owner.addr} keeps ${slotText}; no node reports ${it} open`,
    },
    'return-keys': {
      title: `Return ${keysText(keys)} of ${slotText} from ${tgt} to ${dest?.addr ?? 'the owner'}, which owns ${it}, then close ${it} on ${tgt}`,
      risk: 'medium',
      dataLoss: `None expected: ${tgt} is not the owner, so clients cannot reach its keys of ${slotText} now; they move to ${dest?.addr ?? 'the owner'} without REPLACE, and a key that exists on both stops the move, for a person to compare.`,
      expected: `${owner.addr} keeps ${slotText} with the returned keys; no node reports ${it} open`,
    },
  };
  const t = text[kind];
  const preconditions = [
    ...group.map((o) => describe(o)),
    ...(moving ? [moveEstimate(keys, group.length)] : []),
    'No resharding is running right now (redis-cli --cluster reshard, an operator): closing slots under it breaks it.',
  ];
  const steps = group.flatMap((o) => o.steps);
  const checks = mergeChecks(group.flatMap((o) => o.checks));
  const owners = group.filter((o) => o.owner).map((o) => ({ slot: o.slot, owner: o.owner.id }));
  const plan: Omit<FixPlan, 'id'> = {
    action: 'CLOSE_OPEN_SLOTS',
    title: t.title,
    fixes: ['OPEN_SLOTS'],
    risk: t.risk,
    dataLoss: { slots: [], lastKnownKeys: null, text: t.dataLoss },
    preconditions,
    steps,
    expected: `${t.expected}${moving ? ` (${timeText(keys, group.length)})` : ''}${fullyCovered(ctx) ? ', and every node reports cluster_state:ok.' : '.'}`,
    executable: true,
    ...(checks.length ? { checks } : {}),
    verify: { clusterOk: fullyCovered(ctx), closedSlots: slots, slotOwners: owners },
  };
  const involved = [
    ...new Set(group.flatMap((o) => [o.source?.id, o.target?.id, o.dest?.id, ...o.involved].filter((id): id is string => Boolean(id)))),
  ];
  return { ...identify({ ...plan, involved, nodes: ctx.report.nodes, extra: { kind, slots } }), ...plan };
}

function describe(o: SlotOption): string {
  const n = (node: ModelNode | undefined): string => (node ? name(node) : 'an unknown node');
  const count = (node: ModelNode | undefined): string => {
    const k = openSlotKeys(node, o.slot);
    return k === undefined ? 'keys not counted' : plural(k, 'key');
  };
  switch (o.kind) {
    case 'undo':
    case 'finish':
    case 'move-finish':
      return `Slot ${o.slot} is MIGRATING from ${n(o.source)} (${count(o.source)}) to ${n(o.target)} (${count(o.target)}), which is IMPORTING it.`;
    case 'reopen-finish':
    case 'close-source':
      return `Slot ${o.slot} is MIGRATING from ${n(o.source)} (${count(o.source)}) to ${n(o.target)} (${o.target?.reachable === true ? count(o.target) : 'did not answer'}), which does not import it.`;
    case 'handover':
      return `Slot ${o.slot} is MIGRATING from ${n(o.source)} (${count(o.source)}) to ${n(o.target)} (${count(o.target)}), which already owns it.`;
    case 'close-target':
    case 'return-keys':
      return `Slot ${o.slot} is IMPORTING into ${n(o.target)} (${count(o.target)}) from ${n(o.source)}, which does not migrate it; ${n(o.owner)} owns it.`;
  }
}

function totalKeys(group: SlotOption[]): number | null {
  let total = 0;
  for (const o of group) {
    if (o.keysToMove === null) return null;
    total += o.keysToMove;
  }
  return total;
}

function keysText(keys: number | null): string {
  return keys === null ? 'the keys' : `the ${plural(keys, 'key')}`;
}

function batchesOf(keys: number | null, slots: number): number | null {
  return keys === null ? null : Math.max(slots, Math.ceil(keys / MOVE_BATCH));
}

function timeText(keys: number | null, slots: number): string {
  const batches = batchesOf(keys, slots);
  if (batches === null) return `the keys were not counted: ${MOVE_BATCH} per batch, each bounded by ${MIGRATE_TIMEOUT_MS / 1000} s`;
  return `${batchCount(batches)} of up to ${MOVE_BATCH} keys, expected ${seconds(batches * EXPECTED_MS_PER_BATCH)}`;
}

function moveEstimate(keys: number | null, slots: number): string {
  const batches = batchesOf(keys, slots);
  if (batches === null)
    return `Keys to move: not counted (CLUSTER COUNTKEYSINSLOT did not answer); they move ${MOVE_BATCH} per MIGRATE, each bounded by ${MIGRATE_TIMEOUT_MS / 1000} s of silence from the receiving node.`;
  return (
    `Keys to move: ${keys!.toLocaleString('en-US')} in ${batchCount(batches)} of up to ${MOVE_BATCH}: expected ${seconds(batches * EXPECTED_MS_PER_BATCH)}, ` +
    `at most ${seconds(batches * MIGRATE_TIMEOUT_MS)} if every batch ran into MIGRATE's ${MIGRATE_TIMEOUT_MS / 1000} s timeout (large values or a slow link take longer than the estimate). New writes go to the receiving node meanwhile.`
  );
}

function seconds(ms: number): string {
  return ms < 1000 ? 'under a second' : `about ${Math.ceil(ms / 1000)} s`;
}

function mergeChecks(checks: PlanCheck[]): PlanCheck[] {
  const byNode = new Map<string, number[]>();
  const other: PlanCheck[] = [];
  for (const check of checks) {
    if (check.kind !== 'no-keys-in-slots') other.push(check);
    else byNode.set(check.node, [...(byNode.get(check.node) ?? []), ...check.slots]);
  }
  return [
    ...other,
    ...[...byNode.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([node, slots]): PlanCheck => ({ kind: 'no-keys-in-slots', node, slots })),
  ];
}

function batchCount(n: number): string {
  return `${n} batch${n === 1 ? '' : 'es'}`;
}
