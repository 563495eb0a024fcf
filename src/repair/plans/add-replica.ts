import { identify } from '../fingerprint';
import type { FixPlan, PlanStep } from '../types';
import { byAddr, findingsOf, name, slotText, spareCandidates, type PlanContext } from './context';

/**
 * Prevention: a live master without a replica loses its slots with its next crash. A configured
 * spare meets the master, waits until it knows the master's id, then replicates it. Each master
 * gets its own spare, in order, so the plans never compete for one.
 */
export function addReplicaPlans(ctx: PlanContext): FixPlan[] {
  const spares = spareCandidates(ctx);
  // No spare, no plan: skip sorting every lone master (thousands in a big cluster).
  if (spares.length === 0) return [];
  const alone = [...new Set(findingsOf(ctx, 'MASTER_WITHOUT_REPLICA').flatMap((f) => f.nodes))]
    .map((id) => ctx.model.nodes.get(id))
    .filter((n): n is NonNullable<typeof n> => n !== undefined && n.reachable === true && n.health === 'up')
    .sort(byAddr);
  const plans: FixPlan[] = [];
  alone.forEach((master, i) => {
    const spare = spares[i];
    if (!spare) return;
    const steps: PlanStep[] = [];
    if (!spare.member) {
      steps.push({
        node: spare.addr,
        command: ['CLUSTER', 'MEET', master.host, String(master.port), String(master.busPort)],
        why: 'join the cluster',
        waitFor: { node: spare.addr, knowsIds: [master.id] },
      });
    }
    steps.push({ node: spare.addr, command: ['CLUSTER', 'REPLICATE', master.id], why: `replicate ${master.addr}` });
    const plan: Omit<FixPlan, 'id'> = {
      action: 'ADD_REPLICA',
      title: `Add a replica: ${spare.addr} replicates ${master.addr}`,
      fixes: ['MASTER_WITHOUT_REPLICA'],
      risk: 'low',
      dataLoss: { slots: [], lastKnownKeys: null, text: 'None: the spare starts empty and copies the master; the master keeps serving.' },
      preconditions: [
        `${name(master)} serves slots ${slotText(master.slots)} with no replica.`,
        spare.member
          ? `${spare.addr} is already a member: a master with no slots and no keys.`
          : `${spare.addr} is a blank cluster-enabled redis-server (no keys, no slots, knows no other node): checked before the first step.`,
        'The spare has the same masterauth as the cluster, and is in another failure domain than the master.',
      ],
      steps,
      expected: `${spare.addr} is a replica of ${master.addr} with master_link_status:up${ctx.report.verdict !== 'down' ? ', and every node (it included) reports cluster_state:ok' : ''}.`,
      executable: true,
      ...(spare.member ? {} : { checks: [{ kind: 'blank-node' as const, node: spare.addr }] }),
      // A replica does not change cluster_state; but if the cluster was up, "done" also means the
      // newcomer says ok too (it does once it learnt every slot's owner).
      verify: {
        clusterOk: ctx.report.verdict !== 'down',
        replicaOf: [{ node: spare.addr, masterId: master.id }],
        ...(spare.member ? {} : { extraNodes: [spare.addr] }),
      },
    };
    plans.push({
      ...identify({ ...plan, involved: [master.id, ...(spare.member ? [spare.member.id] : [])], nodes: ctx.report.nodes }),
      ...plan,
    });
  });
  return plans;
}
