import {
  countSlots,
  intersectRanges,
  mergeRanges,
  rangesOverlap,
  slotsOf,
  subtractRanges,
  toRanges,
  type SlotRange,
} from '../../cluster/slots';
import { inRanges, type ModelNode } from '../../diagnosis/model';
import { plural } from '../../text';
import { identify } from '../fingerprint';
import type { FixPlan, PlanCheck, PlanStep, PlanVerification, Risk } from '../types';
import {
  byAddr,
  downMasters,
  findingsOf,
  liveMasters,
  liveNodes,
  liveReplicasOf,
  maxEpoch,
  name,
  ownedInViewOf,
  ownerlessSlots,
  rangeArgs,
  slotText,
  spareCandidates,
  subtract,
  type PlanContext,
  type SpareCandidate,
} from './context';

interface Target {
  addr: string;
  /** Set when the target is a member already (then its own view decides DELSLOTSRANGE). */
  node?: ModelNode;
  spare: boolean;
}

/**
 * A live master where the data of orphan slots is: it holds keys in them (counted with
 * CLUSTER COUNTKEYSINSLOT), or its own view says it owns them while the others route them to a
 * dead master (a split view). Bumping the epoch anywhere else takes those slots, and the keys
 * in them, away from it.
 */
export interface DataHome {
  node: ModelNode;
  /** The orphan slots for which it ranks first. */
  slots: SlotRange[];
  /** Keys it holds in those slots; null when they were not counted (a paste, or no answer). */
  keys: number | null;
  /** Of those slots, the ones its own view says it owns. */
  claimed: SlotRange[];
  /** Its INFO replication keeps a previous replication id: it was a replica and got promoted. */
  promoted: boolean;
}

interface Assignment {
  target: Target;
  slots: SlotRange[];
  home?: DataHome;
  /** Slots with no data anywhere, added to a home so that one node fewer bumps its epoch. */
  extra?: SlotRange[];
}

/**
 * Slots that nobody serves and no replica can take over: give them to the node that holds
 * their keys. Candidates rank by where the data is: a live master holding keys in them (the
 * dead owner's promoted replica, which replicated keys migrated in just before its master
 * died), then a live master that claims them in its own view; then the others (the live master
 * with the fewest slots, a spare). Slots an owner dropped from its own view (while the others
 * still route to it) go back to that owner: its keys are still there. The new owner bumps its
 * config epoch so that its claim beats the dead owner's everywhere (the higher epoch wins),
 * which takes ~0.5 s. A plan that gives slots away from a node holding their data names it and
 * the keys at stake.
 */
export function assignSlotsPlans(ctx: PlanContext): FixPlan[] {
  const dropped = droppedByOwner(ctx);
  const { orphans, promotable } = orphanSlots(ctx, dropped);
  if (orphans.length === 0 && dropped.size === 0) return [];

  const fromDeadMasters = intersectRanges(orphans, ctx.report.coverage.servedByFailedMaster);
  const deadOwners = downMasters(ctx).filter((m) => m.slots.some(([a, b]) => fromDeadMasters.some(([c, d]) => a <= d && c <= b)));
  const homes = orphans.length > 0 ? dataHomes(ctx, orphans) : [];
  const input = { dropped, orphans, fromDeadMasters, deadOwners, promotable, homes };
  const plans: FixPlan[] = [];
  const seenSteps = new Set<string>();
  const add = (assignments: Assignment[]): void => {
    const plan = buildPlan(ctx, input, assignments);
    const key = JSON.stringify(plan.steps.map((s) => [s.node, s.command]));
    if (seenSteps.has(key)) return;
    seenSteps.add(key);
    plans.push(plan);
  };

  if (homes.length > 0) {
    // First choice: every slot goes where its data is; slots with no data anywhere go to the
    // first home too (one epoch bump fewer, and the load can be evened out later).
    const rest = subtract(orphans, mergeRanges(homes.flatMap((h) => h.slots)));
    add(
      homes.map((home, i) => ({
        target: { addr: home.node.addr, node: home.node, spare: false },
        slots: i === 0 ? mergeRanges([...home.slots, ...rest]) : home.slots,
        home,
        ...(i === 0 && rest.length ? { extra: rest } : {}),
      })),
    );
  }
  // Then the others: the live master with the fewest slots, a spare. With a data home above,
  // these take its slots away from it, and say so.
  const targets = orphans.length > 0 ? targetsFor(ctx) : [undefined];
  for (const target of targets) {
    if (orphans.length > 0 && !target) continue;
    add(target ? [{ target, slots: orphans }] : []);
  }
  return plans;
}

interface PlanInput {
  dropped: Map<string, SlotRange[]>;
  orphans: SlotRange[];
  fromDeadMasters: SlotRange[];
  deadOwners: ModelNode[];
  promotable: SlotRange[];
  homes: DataHome[];
}

/**
 * The slots this planner answers for: those no live master serves (owned by a down master, or
 * by nobody), minus the ones an owner dropped (they go back to it) and those of down masters
 * with a live replica (PROMOTE_REPLICA takes them over with their keys).
 */
export function orphanSlots(ctx: PlanContext, dropped = droppedByOwner(ctx)): { orphans: SlotRange[]; promotable: SlotRange[] } {
  const droppedSlots = mergeRanges([...dropped.values()].flat());
  const promotable = mergeRanges(
    downMasters(ctx)
      .filter((m) => liveReplicasOf(ctx, m.id).length > 0)
      .flatMap((m) => m.slots),
  );
  return { orphans: subtract(subtract(ownerlessSlots(ctx), droppedSlots), promotable), promotable };
}

function buildPlan(ctx: PlanContext, input: PlanInput, assignments: Assignment[]): FixPlan {
  const { dropped, orphans, fromDeadMasters, deadOwners, promotable, homes } = input;
  const steps: PlanStep[] = [];
  const checks: PlanCheck[] = [];
  const involved: string[] = [...deadOwners.map((m) => m.id), ...homes.map((h) => h.node.id)];
  const titleParts: string[] = [];

  for (const [ownerId, ranges] of [...dropped.entries()].sort()) {
    const owner = ctx.model.nodes.get(ownerId)!;
    involved.push(ownerId);
    steps.push(
      {
        node: owner.addr,
        command: ['CLUSTER', 'ADDSLOTSRANGE', ...rangeArgs(ranges)],
        why: 'claim again the slots it dropped (its keys are still there)',
      },
      { node: owner.addr, command: ['CLUSTER', 'BUMPEPOCH'], why: 'make its claim the newest' },
    );
    titleParts.push(`give slots ${slotText(ranges)} back to ${owner.addr}, which still has their keys`);
  }

  for (const { target, slots, home, extra } of assignments) {
    // Slots it claims in its own view already: nothing to add there, the epoch bump makes the claim win.
    const alreadyClaimed = target.node?.ownSlots ? intersect(slots, target.node.ownSlots) : [];
    const toAdd = subtract(slots, alreadyClaimed);
    if (target.node) {
      involved.push(target.node.id);
      // DELSLOTSRANGE first where the target's own view gives them to another node (the dead
      // owner, or a stale owner): ADDSLOTSRANGE refuses a slot that is busy in its view.
      const busy = ownedInViewOf(target.node, toAdd);
      if (busy.length > 0)
        steps.push({ node: target.addr, command: ['CLUSTER', 'DELSLOTSRANGE', ...rangeArgs(busy)], why: busyWhy(ctx, target.node, busy) });
    } else {
      const contact = liveMasters(ctx)[0] ?? liveNodes(ctx)[0]!;
      const live = liveNodes(ctx);
      checks.push({ kind: 'blank-node', node: target.addr });
      involved.push(...live.map((n) => n.id));
      steps.push({
        node: target.addr,
        command: ['CLUSTER', 'MEET', contact.host, String(contact.port), String(contact.busPort)],
        why: 'join the cluster',
        // It must know the cluster (and its current epoch) before claiming slots: a claim made
        // with an old epoch loses against the dead owner's.
        waitFor: { node: target.addr, knowsIds: live.map((n) => n.id), currentEpochAtLeast: maxEpoch(ctx) },
      });
    }
    if (toAdd.length > 0) {
      steps.push({
        node: target.addr,
        command: ['CLUSTER', 'ADDSLOTSRANGE', ...rangeArgs(toAdd)],
        why: home ? 'take the slots whose data it holds' : 'take the slots nobody serves',
      });
    }
    const raise = target.node ? epochRaiser(ctx, target.node, slots, assignments) : undefined;
    if (raise) steps.push(raise);
    steps.push({
      node: target.addr,
      command: ['CLUSTER', 'BUMPEPOCH'],
      why:
        alreadyClaimed.length && !toAdd.length
          ? 'it already claims them: the highest config epoch makes the others follow its claim'
          : 'the highest config epoch wins: the others follow its claim',
    });
    titleParts.push(
      home
        ? homeTitle(home, target, extra ?? [], deadOwners)
        : `assign slots ${slotText(slots)} to ${target.addr}${target.spare ? ' (spare)' : ''}`,
    );
  }

  const given = assignments.flatMap((a) => a.slots.map(([x, y]): [SlotRange, Assignment] => [[x, y], a]));
  const targetOf = (slot: number): Assignment | undefined => given.find(([[x, y]]) => slot >= x && slot <= y)?.[1];
  // Keys kept: slots that go to a node holding keys in them. Lost: slots of a dead master that go
  // to a node holding none of their keys. Taken: slots whose data home is another node.
  const kept: number[] = [];
  const lost: number[] = [];
  const taken = new Map<DataHome, number[]>();
  for (const slot of slotsOf(orphans)) {
    const to = targetOf(slot);
    const home = homes.find((h) => inRanges(slot, h.slots));
    if (home && to?.target.node?.id !== home.node.id) {
      // Appended, not copied per slot (a home can lose thousands of slots).
      const slots = taken.get(home);
      if (slots) slots.push(slot);
      else taken.set(home, [slot]);
    }
    if (!inRanges(slot, fromDeadMasters)) continue;
    if (to?.target.node && (keysIn(to.target.node, slot) ?? 0) > 0) kept.push(slot);
    else lost.push(slot);
  }

  const covered = mergeRanges([...orphans, ...[...dropped.values()].flat()]);
  const restoresAll = promotable.length === 0;
  const spareJoining = assignments.find((a) => a.target.spare && !a.target.node);
  const verify: PlanVerification = {
    clusterOk: restoresAll,
    ...(restoresAll ? {} : { slotsServed: covered }),
    ...(spareJoining ? { extraNodes: [spareJoining.target.addr] } : {}),
  };
  const lossy = lost.length > 0 || taken.size > 0;
  const spare = assignments.some((a) => a.target.spare);
  const risk: Risk = lossy ? 'high' : spare || kept.length > 0 ? 'medium' : 'low';
  const title = capitalise(titleParts.join('; '));
  const plan: Omit<FixPlan, 'id'> = {
    action: 'ASSIGN_UNCOVERED_SLOTS',
    title,
    fixes: fixedCodes(ctx),
    risk,
    dataLoss: dataLoss({
      orphans,
      fromDeadMasters,
      deadOwners,
      deadCopies: deadOwners.flatMap((m) => liveOrDeadReplicas(ctx, m)),
      kept: toRanges(kept),
      lost: toRanges(lost),
      taken,
      assignments,
    }),
    preconditions: preconditions(ctx, { deadOwners, assignments, promotable, orphans, homes, taken, fromDeadMasters }),
    steps,
    expected:
      (restoresAll
        ? `All 16384 slots are served and every node reports cluster_state:ok (about a second after the epoch bump).`
        : `Slots ${slotText(covered)} are served again; the slots of down masters with a replica still need PROMOTE_REPLICA.`) +
      // One target keeps the emergency fix to the fewest steps; evening the load out can wait.
      (countSlots(orphans) > 0 && assignments.length
        ? ` ${assignments.map((a) => a.target.addr).join(' and ')} then serve${assignments.length === 1 ? 's' : ''} these slots on top of ${assignments.length === 1 ? 'its' : 'their'} own: rebalance (redis-cli --cluster rebalance) once the incident is over.`
        : ''),
    executable: true,
    ...(checks.length ? { checks } : {}),
    verify,
  };
  // Without a data home the id covers what it always did, so approvals survive an upgrade.
  const extra = homes.length
    ? { orphans, dropped: [...dropped.entries()].sort(), assignments: assignments.map((a) => [a.target.addr, a.slots]) }
    : { orphans, dropped: [...dropped.entries()].sort() };
  return { ...identify({ ...plan, involved, nodes: ctx.report.nodes, extra }), ...plan };
}

/** Slots an owner no longer claims in its own view while the others still route them to it. */
function droppedByOwner(ctx: PlanContext): Map<string, SlotRange[]> {
  const out = new Map<string, SlotRange[]>();
  const owners = new Set(findingsOf(ctx, 'SLOTS_UNASSIGNED').flatMap((f) => f.nodes));
  for (const id of [...owners].sort()) {
    const owner = ctx.model.nodes.get(id);
    if (!owner || owner.health === 'down' || owner.reachable !== true || !owner.ownSlots) continue;
    const routed = ctx.model.slotRuns.filter((run) => run.owner?.id === id).map((run): SlotRange => [run.from, run.to]);
    const slots = subtractRanges(routed, owner.ownSlots);
    if (slots.length) out.set(id, slots);
  }
  return out;
}

/** Where orphan slots may go otherwise: the live master with the fewest slots, then the first spare. */
function targetsFor(ctx: PlanContext): Target[] {
  const targets: Target[] = [];
  const masters = liveMasters(ctx).filter((m) => m.own && !hasOpenSlots(m));
  const spares = spareCandidates(ctx);
  const spareMemberIds = new Set(spares.map((s) => s.member?.id).filter(Boolean));
  const regular = masters
    .filter((m) => !spareMemberIds.has(m.id))
    .sort((a, b) => countSlots(a.slots) - countSlots(b.slots) || byAddr(a, b));
  if (regular[0]) targets.push({ addr: regular[0].addr, node: regular[0], spare: false });
  const spare: SpareCandidate | undefined = spares[0];
  if (spare) targets.push({ addr: spare.addr, ...(spare.member ? { node: spare.member } : {}), spare: true });
  return targets;
}

/**
 * CLUSTER BUMPEPOCH moves a node only when its config epoch is not the highest already. A
 * target that has the highest epoch, tied with the owner it must beat (a split view with equal
 * epochs, which Redis never settles), would say STILL and win nothing. So another live node
 * bumps first, and the target waits until it has seen the new current epoch: then its own
 * bump goes past every claim.
 */
function epochRaiser(ctx: PlanContext, target: ModelNode, slots: SlotRange[], assignments: Assignment[]): PlanStep | undefined {
  const top = maxEpoch(ctx);
  if (target.epoch < top) return undefined;
  // The owners of these slots, in slot order of the ranges as given: run by run, not slot by slot.
  const rivals = new Set<string>();
  for (const [from, to] of slots) {
    if (from > to) continue;
    for (const run of ctx.model.slotRuns) {
      if (run.to < from || run.from > to) continue;
      const owner = run.owner?.id;
      if (owner && owner !== target.id) rivals.add(owner);
    }
  }
  const tied = [...rivals].map((id) => ctx.model.nodes.get(id)).filter((n): n is ModelNode => n !== undefined && n.epoch >= target.epoch);
  if (tied.length === 0) return undefined;
  const targets = new Set(assignments.map((a) => a.target.node?.id));
  const helper = [...liveMasters(ctx), ...liveNodes(ctx)].find((n) => !targets.has(n.id) && n.own);
  if (!helper) return undefined;
  return {
    node: helper.addr,
    command: ['CLUSTER', 'BUMPEPOCH'],
    why: `raise the current epoch first: ${target.addr} already has the highest epoch (${target.epoch}), tied with ${tied.map(name).join(', ')}, so its own bump would change nothing`,
    waitFor: { node: target.addr, knowsIds: [], currentEpochAtLeast: top + 1 },
  };
}

function hasOpenSlots(node: ModelNode): boolean {
  return node.own?.lines.some((l) => l.flags.includes('myself') && (l.migrating.length > 0 || l.importing.length > 0)) ?? false;
}

/**
 * Rank the live masters for each orphan slot by where its data is: the most keys in it
 * (COUNTKEYSINSLOT), then a claim in its own view, then the address (stable). A slot with no
 * keys and no claimant has no home. Linear in slots x live masters.
 */
export function dataHomes(ctx: PlanContext, orphans: SlotRange[]): DataHome[] {
  // Only masters holding keys of some orphan slot, or claiming one, can win a slot: the others
  // are skipped once here rather than for every slot.
  const candidates = liveMasters(ctx).filter(
    (m) => m.own && (holdsKeysIn(m, orphans) || (m.ownSlots !== null && rangesOverlap(m.ownSlots, orphans))),
  );
  if (candidates.length === 0) return [];
  const bySlot = new Map<ModelNode, number[]>();
  for (const slot of slotsOf(orphans)) {
    let best: ModelNode | undefined;
    let bestKeys = 0;
    let bestClaims = false;
    for (const node of candidates) {
      const keys = keysIn(node, slot) ?? 0;
      const claims = node.ownSlots ? inRanges(slot, node.ownSlots) : false;
      if (keys === 0 && !claims) continue;
      if (!best || keys > bestKeys || (keys === bestKeys && claims && !bestClaims)) {
        best = node;
        bestKeys = keys;
        bestClaims = claims;
      }
    }
    if (best) {
      const slots = bySlot.get(best);
      if (slots) slots.push(slot);
      else bySlot.set(best, [slot]);
    }
  }
  const homes = [...bySlot.entries()].map(([node, slots]): DataHome => {
    const ranges = toRanges(slots);
    return {
      node,
      slots: ranges,
      keys: keysInRanges(node, ranges),
      claimed: node.ownSlots ? intersect(ranges, node.ownSlots) : [],
      promoted: wasPromoted(node),
    };
  });
  return homes.sort((a, b) => (b.keys ?? 0) - (a.keys ?? 0) || countSlots(b.claimed) - countSlots(a.claimed) || byAddr(a.node, b.node));
}

/** Whether the counts collected say `node` holds keys in some of these slots. */
function holdsKeysIn(node: ModelNode, ranges: SlotRange[]): boolean {
  const counted = node.own?.probe.replies?.slotKeys;
  if (!counted) return false;
  return Object.entries(counted.counts).some(
    ([slot, keys]) => keys > 0 && inRanges(Number(slot), counted.asked) && inRanges(Number(slot), ranges),
  );
}

/** Keys `node` holds in `slot`, from the counts collected; undefined when not counted. */
function keysIn(node: ModelNode, slot: number): number | undefined {
  const counted = node.own?.probe.replies?.slotKeys;
  if (!counted || !inRanges(slot, counted.asked)) return undefined;
  return counted.counts[String(slot)] ?? 0;
}

function keysInRanges(node: ModelNode, ranges: SlotRange[]): number | null {
  let total = 0;
  for (const slot of slotsOf(ranges)) {
    const keys = keysIn(node, slot);
    if (keys === undefined) return null;
    total += keys;
  }
  return total;
}

function wasPromoted(node: ModelNode): boolean {
  const previous = node.own?.replication['master_replid2'];
  return node.role === 'master' && previous !== undefined && !/^0+$/.test(previous);
}

function homeTitle(home: DataHome, target: Target, extra: SlotRange[], deadOwners: ModelNode[]): string {
  const why: string[] = [];
  if (home.keys) {
    why.push(`it holds their keys (${home.keys} counted with COUNTKEYSINSLOT)`);
    if (home.promoted && countSlots(home.claimed) === 0) {
      const from = deadOwners.length === 1 ? name(deadOwners[0]!) : 'the dead owner';
      why.push(`it was promoted from a replica, so it most likely replicated them from ${from} before that master died`);
    }
  }
  if (countSlots(home.claimed) > 0) {
    why.push(
      `its own view ${countSlots(home.claimed) === countSlots(home.slots) ? 'says it owns them' : `says it owns ${slotText(home.claimed)}`} (the others still route them to a dead master)`,
    );
  }
  const rest = extra.length ? ` and slots ${slotText(extra)} (no key anywhere)` : '';
  return `give slots ${slotText(home.slots)}${rest} to ${target.addr}: ${why.join('; ')}`;
}

function busyWhy(ctx: PlanContext, target: ModelNode, busy: SlotRange[]): string {
  const owners = new Set<string>();
  for (const line of target.own?.lines ?? []) {
    if (line.flags.includes('myself') || !line.flags.includes('master')) continue;
    if (line.slots.some(([a, b]) => busy.some(([c, d]) => a <= d && c <= b))) owners.add(line.id);
  }
  const nodes = [...owners].map((id) => ctx.model.nodes.get(id)).filter((n): n is ModelNode => n !== undefined);
  if (nodes.length > 0 && nodes.every((n) => n.health === 'down' || n.health === 'suspect')) return 'drop the dead owner from its own view';
  return `its own view still gives them to ${nodes.map(name).join(', ') || 'another node'}: drop that first (ADDSLOTSRANGE refuses a busy slot)`;
}

interface LossInput {
  orphans: SlotRange[];
  fromDeadMasters: SlotRange[];
  deadOwners: ModelNode[];
  /** Down replicas of the dead owners (a shard with every copy down): they hold the keys too. */
  deadCopies: ModelNode[];
  kept: SlotRange[];
  lost: SlotRange[];
  taken: Map<DataHome, number[]>;
  assignments: Assignment[];
}

function dataLoss(input: LossInput): FixPlan['dataLoss'] {
  const { orphans, deadOwners, deadCopies, kept, lost, taken, assignments } = input;
  const parts: string[] = [];
  const owners = deadOwners.map(name).join(', ');
  const holders =
    owners +
    (deadCopies.length ? ` and ${deadCopies.length === 1 ? 'its replica' : 'their replicas'} ${deadCopies.map(name).join(', ')}` : '');
  if (lost.length > 0) {
    parts.push(
      `The keys of slots ${slotText(lost)} lived on ${holders || 'a master that is down'}, which ${deadOwners.length + deadCopies.length === 1 ? 'is' : 'are'} down: they are gone, and the new owner starts them empty. ` +
        `If ${deadOwners.length === 1 ? 'that node comes' : 'those nodes come'} back with the old data, the higher epoch wins and the old keys of these slots become unreachable. ` +
        'Restart the node with its data dir instead, if it survived.',
    );
  }
  if (kept.length > 0) {
    const keepers = assignments
      .filter((a) => a.target.node && a.slots.some(([x, y]) => kept.some(([c, d]) => x <= d && c <= y)))
      .map((a) => a.target.addr);
    parts.push(
      `The keys of slots ${slotText(kept)} stay: ${keepers.join(', ')} ${keepers.length === 1 ? 'holds' : 'hold'} them. ` +
        `Writes that reached only ${owners || 'the dead owner'} and were not replicated are lost.`,
    );
  }
  for (const [home, slots] of taken) {
    const ranges = toRanges(slots);
    const keys = keysInRanges(home.node, ranges);
    parts.push(
      `${name(home.node)} ${countSlots(intersect(ranges, home.claimed)) ? 'claims' : 'holds data of'} slots ${slotText(ranges)}` +
        `${keys === null ? ' (its keys there were not counted)' : `, with ${plural(keys, 'key')} in them`}: this plan gives them to another node, whose higher epoch wins, and ${name(home.node)} deletes its keys of slots it loses.`,
    );
  }
  if (parts.length === 0) {
    parts.push(
      orphans.length
        ? 'None expected: no live node holds these slots, so no reachable key is dropped (slots given back to their owner keep their keys).'
        : 'None: the owner still holds the keys of the slots it dropped.',
    );
  }
  const slots = mergeRanges([...lost, ...[...taken.values()].flatMap((s) => toRanges(s))]);
  return { slots, lastKnownKeys: null, text: parts.join(' ') };
}

interface PreconditionInput {
  deadOwners: ModelNode[];
  assignments: Assignment[];
  promotable: SlotRange[];
  orphans: SlotRange[];
  homes: DataHome[];
  taken: Map<DataHome, number[]>;
  fromDeadMasters: SlotRange[];
}

function preconditions(ctx: PlanContext, input: PreconditionInput): string[] {
  const { deadOwners, assignments, promotable, orphans, homes, taken } = input;
  const out: string[] = [];
  for (const dead of deadOwners) {
    // A shard with every copy down: its replicas hold the data too (SHARD_ALL_COPIES_DOWN).
    const copies = liveOrDeadReplicas(ctx, dead);
    out.push(
      copies.length
        ? `Neither ${name(dead)} nor its ${copies.length === 1 ? 'replica' : 'replicas'} ${copies.map(name).join(', ')} will come back with their data (otherwise restart one: see the restart plans, which keep the keys).`
        : `${name(dead)} will not come back with its data (otherwise restart it: see the restart plan).`,
    );
  }
  for (const { target } of assignments) {
    if (target.spare && !target.node)
      out.push(
        `${target.addr} is a blank cluster-enabled redis-server (no keys, no slots, knows no other node): checked before the first step.`,
      );
  }
  for (const home of taken.keys()) {
    out.push(
      `You mean to override ${name(home.node)}: it ranks first for these slots because ${home.keys ? `it holds ${plural(home.keys, 'key')} in them` : 'its own view claims them'}.`,
    );
  }
  const uncounted = uncountedMasters(ctx);
  if (orphans.length > 0 && uncounted.length > 0 && input.fromDeadMasters.length > 0) {
    out.push(
      `Where the keys of slots ${slotText(orphans)} are was not counted on ${uncounted.map((n) => n.addr || n.id.slice(0, 8)).join(', ')}` +
        `${ctx.model.snapshot.offline ? ' (a paste): a live `redis-medic diagnose` counts them' : ': count them'} (CLUSTER COUNTKEYSINSLOT on each master) and give the slots to a master that holds them.`,
    );
  }
  if (homes.length === 0 && input.fromDeadMasters.length > 0 && uncounted.length === 0 && liveMasters(ctx).length > 0) {
    // Said plainly, so nobody wonders whether a promoted replica holds them after all.
    out.push(`No live master holds a key of slots ${slotText(input.fromDeadMasters)} (COUNTKEYSINSLOT) or claims them in its own view.`);
  }
  if (promotable.length) out.push(`Slots ${slotText(promotable)} belong to down masters with a replica and are left to PROMOTE_REPLICA.`);
  if (ctx.report.findings.some((f) => f.code === 'NODES_DISAGREE' && f.severity === 'critical')) {
    out.push('The nodes disagree (a partition?): fix the network first, or the other side may undo this.');
  }
  return out;
}

/** Down replicas of a down master: copies of its slots' keys, named before those slots are given away. */
function liveOrDeadReplicas(ctx: PlanContext, master: ModelNode): ModelNode[] {
  const shard = findingsOf(ctx, 'SHARD_ALL_COPIES_DOWN').find((f) => f.nodes[0] === master.id);
  return (shard?.nodes.slice(1) ?? []).map((id) => ctx.model.nodes.get(id)).filter((n): n is ModelNode => n !== undefined);
}

/** Live masters whose keys in the orphan slots are unknown (not counted), though they may hold keys. */
function uncountedMasters(ctx: PlanContext): ModelNode[] {
  return liveMasters(ctx).filter((m) => !m.own?.probe.replies?.slotKeys && (m.own?.probe.replies?.dbsize ?? 1) > 0);
}

function fixedCodes(ctx: PlanContext): string[] {
  const codes = ['SHARD_ALL_COPIES_DOWN', 'MASTER_DOWN_NO_REPLICA', 'SLOTS_UNASSIGNED', 'QUORUM_LOST'] as const;
  return codes.filter((c) => findingsOf(ctx, c).length > 0);
}

function intersect(ranges: SlotRange[], with_: SlotRange[]): SlotRange[] {
  return intersectRanges(ranges, with_);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
