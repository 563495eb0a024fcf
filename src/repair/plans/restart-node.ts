import { isSilent } from '../../cluster/types';
import type { ModelNode } from '../../diagnosis/model';
import { flaggedNoFailover, formatSeconds, promotionSettings, validityWindowMs } from '../../diagnosis/promotion';
import { identify } from '../fingerprint';
import type { FixPlan } from '../types';
import { downMasters, findingsOf, name, slotText, type PlanContext } from './context';

/**
 * Advice first, as the runbook says: a master whose process is gone but whose host answers
 * ("connection refused") most likely still has its data dir. Restarting it brings back its id,
 * its slots and its keys; reassigning its slots or promoting a stale replica loses writes.
 * When every copy of a shard is down, the ways back are ranked by data kept: the master with
 * its data, then each replica with its data (promoted once it is back), and only then (other
 * planners) the slots given away empty. redis-medic cannot start processes, so these plans are
 * not executable.
 */
export function restartNodePlans(ctx: PlanContext): FixPlan[] {
  const plans: FixPlan[] = [];
  const shards = findingsOf(ctx, 'SHARD_ALL_COPIES_DOWN');
  for (const master of downMasters(ctx)) {
    const shard = shards.find((f) => f.nodes[0] === master.id);
    if (shard) {
      const copies = shard.nodes
        .slice(1)
        .map((id) => ctx.model.nodes.get(id))
        .filter((n): n is ModelNode => n !== undefined);
      plans.push(restartMasterPlan(ctx, master, copies));
      for (const replica of copies) plans.push(restartShardReplicaPlan(ctx, master, replica));
      continue;
    }
    if (master.reachable !== false) continue;
    const refused = master.probe?.failure === 'refused';
    if (!refused && !isSilent(master.probe)) continue;
    plans.push(restartMasterPlan(ctx, master, []));
  }
  return plans;
}

/**
 * Replicas down while their shard is still served: restart each with its data dir. Placed after
 * the plans that bring slots back, since nothing is unserved for want of them.
 */
export function restartReplicaPlans(ctx: PlanContext): FixPlan[] {
  const plans: FixPlan[] = [];
  const ids = [...new Set(findingsOf(ctx, 'REPLICA_DOWN').flatMap((f) => f.nodes))].sort();
  for (const id of ids) {
    const replica = ctx.model.nodes.get(id);
    if (!replica) continue;
    const master = replica.masterId ? ctx.model.nodes.get(replica.masterId) : undefined;
    const plan: Omit<FixPlan, 'id'> = {
      action: 'RESTART_NODE',
      title: `Restart the replica redis-server on ${replica.addr || id.slice(0, 8)} with its data dir (or restore its network); it resyncs from its master`,
      fixes: ['REPLICA_DOWN'],
      risk: 'low',
      dataLoss: {
        slots: [],
        lastKnownKeys: null,
        text: 'None: its master keeps serving; the replica catches up by partial or full resync.',
      },
      preconditions: [
        `${name(replica)} replicates ${master ? name(master) : (replica.masterId ?? 'an unknown master').slice(0, 8)}.`,
        downReason(replica),
        'Start it with the same port, cluster-config-file (nodes.conf) and dir; an empty nodes.conf would make it a new node and leave the old id behind as a ghost.',
      ],
      steps: [],
      expected: `${replica.addr} answers again as a replica with master_link_status:up, and no node flags it failed.`,
      executable: false,
    };
    plans.push({ ...identify({ ...plan, involved: [replica.id], nodes: ctx.report.nodes }), ...plan });
  }
  return plans;
}

function restartMasterPlan(ctx: PlanContext, master: ModelNode, copies: ModelNode[]): FixPlan {
  const fixes = ctx.report.findings.filter((f) => f.nodes.includes(master.id) && f.category === 'fault').map((f) => f.code);
  const refused = master.probe?.failure === 'refused';
  // Outside a shard outage only refused and silent masters get here (a connect timeout counts as hung, as before).
  const hung = copies.length ? master.probe?.failure === 'no-reply' : isSilent(master.probe);
  const title = hung
    ? `Restart the hung redis-server on ${master.addr} (it accepts connections but does not reply); it keeps its id and slots`
    : `Restart redis-server on ${master.addr} with its data dir; it keeps its id and slots`;
  const plan: Omit<FixPlan, 'id'> = {
    action: 'RESTART_NODE',
    title,
    fixes: [...new Set(fixes)],
    risk: 'low',
    dataLoss: {
      slots: [],
      lastKnownKeys: null,
      text: 'None if its data dir survived (nodes.conf plus its RDB/AOF): the node comes back with its keys. Do this before reassigning its slots.',
    },
    preconditions: [
      `${name(master)} owned slots ${slotText(master.slots)}.`,
      refused
        ? `Its host answers but nothing listens on ${master.addr} (${master.probe?.error ?? ''}): the process is down.`
        : hung
          ? `It accepts connections but does not reply (${master.probe?.error ?? ''}): check the process (swapping? stopped?) before restarting it.`
          : downReason(master),
      'Start it with the same port, cluster-config-file (nodes.conf) and dir; an empty nodes.conf would make it a new, empty node.',
      ...(copies.length
        ? [
            `First choice for these slots: it holds every write it acknowledged; its ${copies.length === 1 ? 'replica' : 'replicas'} ${copies.map((c) => c.addr).join(', ')} may miss the last ones.`,
          ]
        : []),
    ],
    steps: [],
    expected: 'It rejoins with its id and slots, and the cluster returns to cluster_state:ok by itself within a few node timeouts.',
    executable: false,
  };
  return { ...identify({ ...plan, involved: [master.id], nodes: ctx.report.nodes }), ...plan };
}

/** Second choice when a shard is down: a replica back with its data, then promoted by hand. */
function restartShardReplicaPlan(ctx: PlanContext, master: ModelNode, replica: ModelNode): FixPlan {
  const quorumLost = findingsOf(ctx, 'QUORUM_LOST').length > 0;
  const mode = quorumLost ? 'TAKEOVER' : 'FORCE';
  const window = validityWindowMs(promotionSettings(ctx.model));
  const plan: Omit<FixPlan, 'id'> = {
    action: 'RESTART_NODE',
    title: `If ${master.addr} cannot come back: restart its replica ${replica.addr} with its data dir, then promote it (CLUSTER FAILOVER ${mode})`,
    fixes: ['SHARD_ALL_COPIES_DOWN'],
    risk: 'medium',
    dataLoss: {
      slots: [],
      lastKnownKeys: null,
      text:
        `${replica.addr} keeps every key it had replicated (with its RDB/AOF); writes ${master.addr} acknowledged after its last sync are lost. ` +
        `If ${master.addr} comes back later, it becomes a replica of ${replica.addr} and drops them.`,
    },
    preconditions: [
      `${name(replica)} replicated ${name(master)} (slots ${slotText(master.slots)}) until both went down.`,
      downReason(replica),
      'Start it with the same port, cluster-config-file (nodes.conf) and dir (its RDB/AOF): an empty dir or nodes.conf brings it back as a new, empty node.',
      'Redis will not promote it by itself: a replica restarted after its master died cannot tell how old its data is (master_link_down_since_seconds:-1) ' +
        'and never runs for election (redis#13234), unless cluster-replica-validity-factor is 0' +
        (flaggedNoFailover(replica) ? '; and it is flagged nofailover.' : '.') +
        (isSilent(replica.probe) || replica.probe?.failure === 'host-unreachable'
          ? ` If its process still runs and only the network is cut, it promotes itself once reachable${window === null ? '' : `, if that is within ${formatSeconds(window)} of losing its master`}.`
          : ''),
      quorumLost
        ? 'Once it answers, redis-medic offers CLUSTER FAILOVER TAKEOVER on it: no majority of masters is alive to vote.'
        : 'Once it answers, redis-medic offers CLUSTER FAILOVER FORCE on it (a majority of masters is alive to vote).',
    ],
    steps: [],
    expected: `${replica.addr} answers as a replica of ${master.addr}; after the failover it serves slots ${slotText(master.slots)} with its keys, and every node reports cluster_state:ok.`,
    executable: false,
  };
  return { ...identify({ ...plan, involved: [master.id, replica.id], nodes: ctx.report.nodes }), ...plan };
}

function downReason(node: ModelNode): string {
  const probe = node.probe;
  if (node.reachable === null || !probe || probe.status === 'not-asked') {
    return `It was not asked (offline analysis): the view flags it ${node.flagged === 'pfail' ? '`fail?`' : '`fail`'}; check whether its process runs.`;
  }
  switch (probe.failure) {
    case 'refused':
      return `Its host answers but nothing listens on ${node.addr}: the process is down.`;
    case 'no-reply':
      return `It accepts connections but does not reply (${probe.error ?? ''}): check the process (stopped? swapping?).`;
    case 'host-unreachable':
    case 'connect-timeout':
      return `Its host does not answer (${probe.error ?? ''}): bring the machine (or its network) back first; its data dir is on it.`;
    default:
      return `It does not answer (${probe.error ?? 'no reply'}).`;
  }
}
