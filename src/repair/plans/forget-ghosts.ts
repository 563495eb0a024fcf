import { identify } from '../fingerprint';
import type { FixPlan, PlanStep } from '../types';
import { findingsOf, fullyCovered, liveNodes, name, type PlanContext } from './context';

/** Redis bans a forgotten id for 60 s; every live node must forget it inside that window. */
export const FORGET_BAN_WINDOW_MS = 60_000;

/**
 * Ghosts (failed slot-less nodes, stuck handshakes, noaddr entries, old ids of restarted nodes)
 * are forgotten on every live node that lists them, all at once: a node not told in time
 * gossips the ghost back to the others when their 60 s ban expires.
 */
export function forgetGhostsPlans(ctx: PlanContext): FixPlan[] {
  const ghostIds = [...new Set(findingsOf(ctx, 'GHOST_NODES').flatMap((f) => f.nodes))].sort();
  const live = liveNodes(ctx);
  // A replica cannot forget its own master ("Can't forget my master!"): such a ghost needs the
  // replica moved first, which is not this plan's business.
  const ghosts = ghostIds.filter((id) => !live.some((n) => n.role === 'replica' && n.masterId === id));
  const skipped = ghostIds.filter((id) => !ghosts.includes(id));
  if (ghosts.length === 0) return [];

  const steps: PlanStep[] = [];
  for (const node of live) {
    const listed = new Set(node.own!.lines.map((l) => l.id));
    for (const id of ghosts) {
      if (listed.has(id) && id !== node.id) steps.push({ node: node.addr, command: ['CLUSTER', 'FORGET', id], why: 'forget the ghost' });
    }
  }
  if (steps.length === 0) return [];
  const silent = [...ctx.model.nodes.values()].filter((n) => n.reachable === false && !ghostIds.includes(n.id));
  const ghostNames = ghosts.map((id) => {
    const node = ctx.model.nodes.get(id);
    return node ? name(node) : id.slice(0, 8);
  });
  const plan: Omit<FixPlan, 'id'> = {
    action: 'FORGET_GHOST_NODES',
    title: `Forget ${ghosts.length === 1 ? 'the ghost' : `${ghosts.length} ghosts`} ${ghostNames.join(', ')} on every live node`,
    fixes: ['GHOST_NODES'],
    risk: silent.length > 0 ? 'medium' : 'low',
    dataLoss: {
      slots: [],
      lastKnownKeys: null,
      text: 'None: ghosts own no slots. If a forgotten node comes back, it must be met again (CLUSTER MEET).',
    },
    preconditions: [
      `${ghosts.length === 1 ? 'It is' : 'They are'} gone for good (a node that comes back under the same id would have to be met again).`,
      `Every live node is told within ${FORGET_BAN_WINDOW_MS / 1000} s (the steps run at once): otherwise gossip brings the ghost back.`,
      ...(silent.length
        ? [
            `${silent.map(name).join(', ')} did not answer and cannot be told: if ${silent.length === 1 ? 'it comes' : 'they come'} back still listing a ghost, forget it again.`,
          ]
        : []),
      ...(skipped.length
        ? [`Not forgotten: ${skipped.map((id) => id.slice(0, 8)).join(', ')} is still the master of a live replica.`]
        : []),
    ],
    steps,
    expected: `No live node lists ${ghostNames.join(', ')}${fullyCovered(ctx) ? ', and every node reports cluster_state:ok.' : '.'}`,
    executable: true,
    concurrent: true,
    verify: { clusterOk: fullyCovered(ctx), forgotten: ghosts },
  };
  // The plan depends on which ids are ghosts (unreachable, owning nothing) and which live nodes
  // list them (the steps name those). Not on the ghosts' flags, which Redis flips between none,
  // fail? and fail while they stay dead, nor on the live nodes' epochs and slots, which move
  // while the cluster settles after another repair: neither may make an approval stale.
  const ghostStates = ghosts.map((id) => {
    const node = ctx.report.nodes.find((n) => n.id === id);
    return { id, addr: node?.addr ?? null, reachable: node?.reachable ?? null, slots: node?.slots ?? [] };
  });
  return [{ ...identify({ ...plan, involved: [], nodes: ctx.report.nodes, extra: ghostStates }), ...plan }];
}
