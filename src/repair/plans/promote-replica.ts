import { mergeRanges } from '../../cluster/slots';
import type { ModelNode } from '../../diagnosis/model';
import { restartedWithoutMaster } from '../../diagnosis/promotion';
import { identify } from '../fingerprint';
import type { FixPlan, PlanStep } from '../types';
import {
  byAddr,
  downMasters,
  findingsOf,
  liveReplicasOf,
  name,
  ownerlessSlots,
  reportNode,
  slotText,
  subtract,
  type PlanContext,
} from './context';

/**
 * A down master with a live replica: promote the replica. With a majority of masters alive,
 * `CLUSTER FAILOVER FORCE` still runs an election (safe against split brain). With quorum lost
 * no election can be won, so `CLUSTER FAILOVER TAKEOVER` on one replica of each down master
 * bumps its epoch without asking anyone (~3 s to ok with node-timeout 1000).
 */
export function promoteReplicaPlans(ctx: PlanContext): FixPlan[] {
  const quorumLost = findingsOf(ctx, 'QUORUM_LOST').length > 0;
  const pairs = downMasters(ctx)
    .map((master) => ({ master, replica: bestReplica(ctx, master) }))
    .filter((p): p is { master: ModelNode; replica: ModelNode } => p.replica !== undefined);
  if (pairs.length === 0) return [];

  const mode = quorumLost ? 'TAKEOVER' : 'FORCE';
  const steps: PlanStep[] = pairs.map(({ master, replica }) => ({
    node: replica.addr,
    command: ['CLUSTER', 'FAILOVER', mode],
    why: `take over the slots of ${master.addr}`,
  }));
  const slots = mergeRanges(pairs.flatMap(({ master }) => master.slots));
  // Slots without a live owner (not what clients cannot reach: with quorum lost that is every
  // slot, and the takeover gives the cluster its majority back).
  const rest = subtract(ownerlessSlots(ctx), slots);
  const restoresAll = rest.length === 0;
  const plan: Omit<FixPlan, 'id'> = {
    action: 'PROMOTE_REPLICA',
    title: quorumLost
      ? `Take over without election (quorum lost): ${pairs.map(({ master, replica }) => `${replica.addr} replaces ${master.addr}`).join(', ')}`
      : `Force the failover: ${pairs.map(({ master, replica }) => `${replica.addr} replaces ${master.addr}`).join(', ')}`,
    fixes: (['QUORUM_LOST', 'REPLICA_NOT_PROMOTED'] as const).filter((c) => findingsOf(ctx, c).length > 0),
    risk: quorumLost ? 'high' : 'medium',
    dataLoss: {
      slots,
      lastKnownKeys: null,
      text: `${pairs
        .map(
          ({ master, replica }) =>
            `writes ${master.addr} acknowledged after ${replica.addr}'s last replication offset${offsetText(ctx, replica)} are lost`,
        )
        .join('; ')}. If a failed master comes back, it becomes a replica of its successor and its unreplicated writes are discarded.`,
    },
    preconditions: [
      ...pairs.map(({ master, replica }) => `${name(replica)} replicates ${name(master)}${linkText(ctx, replica)}.`),
      ...(quorumLost
        ? [
            "The down masters are really down, not cut off in another partition: TAKEOVER there would give two masters the same slots (the higher epoch wins later, dropping the other side's writes).",
          ]
        : ['A majority of masters is alive to vote: FORCE still needs their votes.']),
      ...(restoresAll ? [] : [`Slots ${slotText(rest)} have no replica to promote and need another plan.`]),
    ],
    steps,
    expected: restoresAll
      ? `${pairs.length === 1 ? 'The replica becomes master' : 'The replicas become masters'} and every node reports cluster_state:ok (a few seconds).`
      : `The promoted replicas serve ${slotText(slots)}; the cluster stays down until the other slots are served too.`,
    executable: true,
    verify: restoresAll ? { clusterOk: true } : { clusterOk: false, slotsServed: slots },
  };
  const involved = pairs.flatMap(({ master, replica }) => [master.id, replica.id]);
  return [{ ...identify({ ...plan, involved, nodes: ctx.report.nodes }), ...plan }];
}

/** The replica with the most data: highest replication offset, a live link first, then address. */
function bestReplica(ctx: PlanContext, master: ModelNode): ModelNode | undefined {
  // nofailover only stops automatic failovers; a manual FORCE/TAKEOVER still works on it.
  const candidates = liveReplicasOf(ctx, master.id);
  const offset = (r: ModelNode): number => reportNode(ctx, r.id)?.replication?.offset ?? -1;
  return [...candidates].sort((a, b) => offset(b) - offset(a) || byAddr(a, b))[0];
}

function offsetText(ctx: PlanContext, replica: ModelNode): string {
  // Restarted without its master, a replica reports offset 0 whatever its RDB/AOF holds.
  if (restartedWithoutMaster(replica)) return ' (unknown: it was restarted after its master died; it has the keys its RDB/AOF kept)';
  const offset = reportNode(ctx, replica.id)?.replication?.offset;
  return offset === undefined ? '' : ` (${offset})`;
}

function linkText(ctx: PlanContext, replica: ModelNode): string {
  const link = reportNode(ctx, replica.id)?.replication?.linkStatus;
  return link ? ` (master_link_status:${link}, as expected with its master down)` : '';
}
