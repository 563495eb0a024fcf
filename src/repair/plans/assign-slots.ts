import { countSlots, slotsOf, toRanges, type SlotRange } from '../../cluster/slots';
import { inRanges, type ModelNode } from '../../diagnosis/model';
import { identify } from '../fingerprint';
import type { FixPlan, PlanCheck, PlanStep, PlanVerification, Risk } from '../types';
import {
  byAddr, downMasters, findingsOf, liveMasters, liveNodes, liveReplicasOf, maxEpoch, name, ownedInViewOf,
  rangeArgs, slotText, spareCandidates, subtract, type PlanContext, type SpareCandidate,
} from './context';

interface Target {
  addr: string;
  /** Set when the target is a member already (then its own view decides DELSLOTSRANGE). */
  node?: ModelNode;
  spare: boolean;
}

/**
 * Slots that nobody serves and no replica can take over: give them to a live master or a
 * spare. Slots an owner dropped from its own view (while the others still route to it) go back
 * to that owner: its keys are still there. The new owner bumps its config epoch so that its
 * claim beats the dead owner's everywhere (the higher epoch wins), which takes ~0.5 s.
 */
export function assignSlotsPlans(ctx: PlanContext): FixPlan[] {
  const dropped = droppedByOwner(ctx);
  const droppedSlots = toRanges([...dropped.values()].flatMap((r) => [...slotsOf(r)]));
  // Slots of a down master with a live replica are for PROMOTE_REPLICA, not for reassignment.
  const promotable = toRanges(downMasters(ctx).filter((m) => liveReplicasOf(ctx, m.id).length > 0).flatMap((m) => [...slotsOf(m.slots)]));
  const orphans = subtract(subtract(ctx.report.coverage.uncovered, droppedSlots), promotable);
  if (orphans.length === 0 && dropped.size === 0) return [];

  const fromDeadMasters = toRanges([...slotsOf(orphans)].filter((s) => inRanges(s, ctx.report.coverage.servedByFailedMaster)));
  const deadOwners = downMasters(ctx).filter((m) => m.slots.some(([a, b]) => fromDeadMasters.some(([c, d]) => a <= d && c <= b)));
  const targets = orphans.length > 0 ? targetsFor(ctx) : [undefined];
  const plans: FixPlan[] = [];
  for (const target of targets) {
    if (orphans.length > 0 && !target) continue;
    plans.push(buildPlan(ctx, { dropped, orphans, fromDeadMasters, deadOwners, promotable, target }));
  }
  return plans;
}

interface PlanInput {
  dropped: Map<string, SlotRange[]>;
  orphans: SlotRange[];
  fromDeadMasters: SlotRange[];
  deadOwners: ModelNode[];
  promotable: SlotRange[];
  target: Target | undefined;
}

function buildPlan(ctx: PlanContext, input: PlanInput): FixPlan {
  const { dropped, orphans, fromDeadMasters, deadOwners, promotable, target } = input;
  const steps: PlanStep[] = [];
  const checks: PlanCheck[] = [];
  const involved: string[] = [...deadOwners.map((m) => m.id)];
  const titleParts: string[] = [];

  for (const [ownerId, ranges] of [...dropped.entries()].sort()) {
    const owner = ctx.model.nodes.get(ownerId)!;
    involved.push(ownerId);
    steps.push(
      { node: owner.addr, command: ['CLUSTER', 'ADDSLOTSRANGE', ...rangeArgs(ranges)], why: 'claim again the slots it dropped (its keys are still there)' },
      { node: owner.addr, command: ['CLUSTER', 'BUMPEPOCH'], why: 'make its claim the newest' },
    );
    titleParts.push(`give slots ${slotText(ranges)} back to ${owner.addr}, which still has their keys`);
  }

  if (target && orphans.length > 0) {
    if (target.node) {
      involved.push(target.node.id);
      // DELSLOTSRANGE first where the target's own view still has an owner (the dead master):
      // ADDSLOTSRANGE refuses a slot that is busy in its view.
      const busy = ownedInViewOf(target.node, orphans);
      if (busy.length > 0) steps.push({ node: target.addr, command: ['CLUSTER', 'DELSLOTSRANGE', ...rangeArgs(busy)], why: 'drop the dead owner from its own view' });
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
    steps.push(
      { node: target.addr, command: ['CLUSTER', 'ADDSLOTSRANGE', ...rangeArgs(orphans)], why: 'take the slots nobody serves' },
      { node: target.addr, command: ['CLUSTER', 'BUMPEPOCH'], why: 'the highest config epoch wins: the others follow its claim' },
    );
    titleParts.push(`assign slots ${slotText(orphans)} to ${target.addr}${target.spare ? ' (spare)' : ''}`);
  }

  const covered = toRanges([...slotsOf(orphans), ...[...dropped.values()].flatMap((r) => [...slotsOf(r)])]);
  const restoresAll = promotable.length === 0;
  const verify: PlanVerification = {
    clusterOk: restoresAll,
    ...(restoresAll ? {} : { slotsServed: covered }),
    ...(target?.spare && !target.node ? { extraNodes: [target.addr] } : {}),
  };
  const lossy = countSlots(fromDeadMasters) > 0;
  const risk: Risk = lossy ? 'high' : target?.spare ? 'medium' : 'low';
  const title = capitalise(titleParts.join('; '));
  const plan: Omit<FixPlan, 'id'> = {
    action: 'ASSIGN_UNCOVERED_SLOTS',
    title,
    fixes: fixedCodes(ctx),
    risk,
    dataLoss: dataLoss(orphans, fromDeadMasters, deadOwners, deadOwners.flatMap((m) => liveOrDeadReplicas(ctx, m))),
    preconditions: preconditions(ctx, deadOwners, target, promotable),
    steps,
    expected: (restoresAll
      ? `All 16384 slots are served and every node reports cluster_state:ok (about a second after the epoch bump).`
      : `Slots ${slotText(covered)} are served again; the slots of down masters with a replica still need PROMOTE_REPLICA.`) +
      // One target keeps the emergency fix to the fewest steps; evening the load out can wait.
      (countSlots(orphans) > 0 && target ? ` ${target.addr} then serves these slots on top of its own: rebalance (redis-cli --cluster rebalance) once the incident is over.` : ''),
    executable: true,
    ...(checks.length ? { checks } : {}),
    verify,
  };
  return { ...identify({ ...plan, involved, nodes: ctx.report.nodes, extra: { orphans, dropped: [...dropped.entries()].sort() } }), ...plan };
}

/** Slots an owner no longer claims in its own view while the others still route them to it. */
function droppedByOwner(ctx: PlanContext): Map<string, SlotRange[]> {
  const out = new Map<string, SlotRange[]>();
  const owners = new Set(findingsOf(ctx, 'SLOTS_UNASSIGNED').flatMap((f) => f.nodes));
  for (const id of [...owners].sort()) {
    const owner = ctx.model.nodes.get(id);
    if (!owner || owner.health === 'down' || owner.reachable !== true || !owner.ownSlots) continue;
    const slots: number[] = [];
    ctx.model.owner.forEach((o, slot) => { if (o === id && !inRanges(slot, owner.ownSlots!)) slots.push(slot); });
    if (slots.length) out.set(id, toRanges(slots));
  }
  return out;
}

/** Where orphan slots may go: the live master with the fewest slots, then the first spare. */
function targetsFor(ctx: PlanContext): Target[] {
  const targets: Target[] = [];
  const masters = liveMasters(ctx).filter((m) => m.own && !m.own.lines.some((l) => l.flags.includes('myself') && (l.migrating.length || l.importing.length)));
  const spares = spareCandidates(ctx);
  const spareMemberIds = new Set(spares.map((s) => s.member?.id).filter(Boolean));
  const regular = masters.filter((m) => !spareMemberIds.has(m.id)).sort((a, b) => countSlots(a.slots) - countSlots(b.slots) || byAddr(a, b));
  if (regular[0]) targets.push({ addr: regular[0].addr, node: regular[0], spare: false });
  const spare: SpareCandidate | undefined = spares[0];
  if (spare) targets.push({ addr: spare.addr, ...(spare.member ? { node: spare.member } : {}), spare: true });
  return targets;
}

function dataLoss(orphans: SlotRange[], fromDead: SlotRange[], deadOwners: ModelNode[], deadCopies: ModelNode[]): FixPlan['dataLoss'] {
  if (countSlots(fromDead) === 0) {
    return {
      slots: [],
      lastKnownKeys: null,
      text: orphans.length
        ? 'None expected: no live node holds these slots, so no reachable key is dropped (slots given back to their owner keep their keys).'
        : 'None: the owner still holds the keys of the slots it dropped.',
    };
  }
  const owners = deadOwners.map(name).join(', ') + (deadCopies.length ? ` and ${deadCopies.length === 1 ? 'its replica' : 'their replicas'} ${deadCopies.map(name).join(', ')}` : '');
  return {
    slots: fromDead,
    lastKnownKeys: null,
    text:
      `The keys of slots ${slotText(fromDead)} lived on ${owners}, which ${deadOwners.length + deadCopies.length === 1 ? 'is' : 'are'} down: they are gone, and the new owner starts them empty. ` +
      `If ${deadOwners.length === 1 ? 'that node comes' : 'those nodes come'} back with the old data, the higher epoch wins and the old keys of these slots become unreachable. ` +
      'Restart the node with its data dir instead, if it survived.',
  };
}

function preconditions(ctx: PlanContext, deadOwners: ModelNode[], target: Target | undefined, promotable: SlotRange[]): string[] {
  const out: string[] = [];
  for (const dead of deadOwners) {
    // A shard with every copy down: its replicas hold the data too (SHARD_ALL_COPIES_DOWN).
    const copies = liveOrDeadReplicas(ctx, dead);
    out.push(copies.length
      ? `Neither ${name(dead)} nor its ${copies.length === 1 ? 'replica' : 'replicas'} ${copies.map(name).join(', ')} will come back with their data (otherwise restart one: see the restart plans, which keep the keys).`
      : `${name(dead)} will not come back with its data (otherwise restart it: see the restart plan).`);
  }
  if (target?.spare && !target.node) out.push(`${target.addr} is a blank cluster-enabled redis-server (no keys, no slots, knows no other node): checked before the first step.`);
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

function fixedCodes(ctx: PlanContext): string[] {
  const codes = ['SHARD_ALL_COPIES_DOWN', 'MASTER_DOWN_NO_REPLICA', 'SLOTS_UNASSIGNED', 'QUORUM_LOST'] as const;
  return codes.filter((c) => findingsOf(ctx, c).length > 0);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
