import type { ModelNode } from '../../diagnosis/model';
import { identify } from '../fingerprint';
import type { FixPlan, PlanStep } from '../types';
import { findingsOf, fullyCovered, liveNodes, type PlanContext } from './context';

/**
 * Live nodes that do not know each other (a split view: a FORGET that went too far, a node
 * that was never met): one CLUSTER MEET per missing pair, and gossip does the rest.
 */
export function meetNodesPlans(ctx: PlanContext): FixPlan[] {
  if (findingsOf(ctx, 'NODES_DISAGREE').length === 0) return [];
  // Never meet an instance that keeps trying to join: stopping it is the fix (NODE_KEEPS_JOINING).
  const joiners = new Set(findingsOf(ctx, 'NODE_KEEPS_JOINING').flatMap((f) => f.nodes));
  const live = liveNodes(ctx).filter((n) => !joiners.has(n.id));
  const knows = (a: ModelNode, b: ModelNode): boolean =>
    a.own!.lines.some((l) => l.id === b.id && !l.flags.includes('handshake') && !l.flags.includes('noaddr'));
  const steps: PlanStep[] = [];
  const met = new Set<string>();
  for (const a of live) {
    for (const b of live) {
      if (a.id === b.id || knows(a, b) || met.has(pairKey(a, b))) continue;
      met.add(pairKey(a, b));
      steps.push({
        node: a.addr,
        command: ['CLUSTER', 'MEET', b.host, String(b.port), String(b.busPort)],
        why: `${a.addr} does not know ${b.addr}`,
      });
    }
  }
  if (steps.length === 0) return [];
  const involved = live.map((n) => n.id);
  const plan: Omit<FixPlan, 'id'> = {
    action: 'MEET_NODES',
    title: `Reconnect nodes that do not know each other (${steps.length} CLUSTER MEET${steps.length === 1 ? '' : 's'})`,
    fixes: ['NODES_DISAGREE'],
    risk: 'medium',
    dataLoss: {
      slots: [],
      lastKnownKeys: null,
      text: "None by itself. Where both sides claim the same slots, the higher config epoch wins and the other side's keys of those slots become unreachable.",
    },
    preconditions: [
      ...steps.map((s) => `${s.why}.`),
      'All these nodes belong to this cluster (MEET merges whatever the other node knows).',
      `The bus ports are reachable between them (${live.map((n) => `${n.addr}@${n.busPort}`).join(', ')}).`,
    ],
    steps,
    expected: `Every live node lists every other live node${fullyCovered(ctx) ? ', and every node reports cluster_state:ok.' : '.'}`,
    executable: true,
    verify: { clusterOk: fullyCovered(ctx), meshed: true },
  };
  return [{ ...identify({ ...plan, involved, nodes: ctx.report.nodes }), ...plan }];
}

function pairKey(a: ModelNode, b: ModelNode): string {
  return [a.id, b.id].sort().join('|');
}
