import { isIP } from 'node:net';
import type { ModelNode } from '../../diagnosis/model';
import { slotOwningMasters } from '../../diagnosis/model';
import { identify } from '../fingerprint';
import type { FixPlan, PlanStep } from '../types';
import { findingsOf, liveNodes, name, type PlanContext } from './context';

/**
 * Nodes that came back at new addresses (ADDRESSES_CHANGED): tell them where their peers are
 * now. One node meets every other at its new address (the handshake renames the known id, and
 * gossip spreads the new addresses to the rest); one more MEET back tells that first node its
 * own new address, which a node only learns from a MEET it receives. Measured on 7.0 with three
 * masters restarted at new addresses: cluster_state:ok everywhere in about 3 s. Nothing moves
 * and nothing is lost, so it comes before any plan that gives slots away.
 *
 * Only addresses where redis-medic reached the nodes (so within the configured scope), and only
 * IP addresses: CLUSTER MEET takes no host name.
 */
export function meetNewAddressesPlans(ctx: PlanContext): FixPlan[] {
  if (findingsOf(ctx, 'ADDRESSES_CHANGED').length === 0) return [];
  const live = liveNodes(ctx).filter((n) => isIP(n.host));
  const moved = live.filter((n) => n.announcedAddr);
  if (moved.length === 0 || live.length < 2) return [];
  const first = moved[0]!;
  const steps: PlanStep[] = live
    .filter((n) => n.id !== first.id)
    .map((n) => ({
      node: first.addr,
      command: meet(n),
      why: n.announcedAddr
        ? `${n.addr} is the new address of ${n.id.slice(0, 8)} (the cluster still calls ${n.announcedAddr})`
        : `${first.addr} tells ${n.addr} where it is now`,
    }));
  const back = live.find((n) => n.id !== first.id)!;
  steps.push({
    node: back.addr,
    command: meet(first),
    why: `${first.addr} learns its own new address from a MEET it receives (it still announces ${first.announcedAddr})`,
  });

  const answering = new Set(live.map((n) => n.id));
  const missing = slotOwningMasters(ctx.model).filter((m) => !answering.has(m.id));
  const restoresAll = missing.length === 0;
  const plan: Omit<FixPlan, 'id'> = {
    action: 'MEET_NODES',
    title: `Introduce the nodes at their new addresses: ${moved.map((n) => `${n.addr} (was ${n.announcedAddr})`).join(', ')}`,
    fixes: (['ADDRESSES_CHANGED', 'QUORUM_LOST', 'NODES_DISAGREE'] as const).filter((c) => findingsOf(ctx, c).length > 0),
    risk: 'low',
    dataLoss: {
      slots: [],
      lastKnownKeys: null,
      text: 'None: no slot moves and no node is promoted; each node only learns where its peers are now, and keeps its data and slots.',
    },
    preconditions: [
      `These addresses are the same nodes, restarted (redis-medic asked them: ${moved.map((n) => `${n.addr} is ${n.id.slice(0, 8)}`).join(', ')}); nothing answers at the old ones any more.`,
      `The bus ports are reachable between the new addresses (${live.map((n) => `${n.addr}@${n.busPort}`).join(', ')}).`,
      ...(restoresAll
        ? []
        : [
            `Not found at a new address: ${missing.map(name).join(', ')}; add ${missing.length === 1 ? 'its address' : 'their addresses'} to the seeds, or the cluster stays down.`,
          ]),
    ],
    steps,
    expected: `Every node lists the others at their new addresses${restoresAll ? ' and reports cluster_state:ok (a few seconds).' : '.'}`,
    executable: true,
    verify: { clusterOk: restoresAll, meshed: true },
  };
  return [
    {
      ...identify({
        ...plan,
        involved: live.map((n) => n.id),
        nodes: ctx.report.nodes,
        extra: { moved: moved.map((n) => [n.id, n.addr, n.announcedAddr]) },
      }),
      ...plan,
    },
  ];
}

function meet(node: ModelNode): string[] {
  return ['CLUSTER', 'MEET', node.host, String(node.port), String(node.busPort)];
}
