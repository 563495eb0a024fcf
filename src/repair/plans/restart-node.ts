import { isSilent } from '../../cluster/types';
import { identify } from '../fingerprint';
import type { FixPlan } from '../types';
import { downMasters, name, slotText, type PlanContext } from './context';

/**
 * Advice first, as the runbook says: a master whose process is gone but whose host answers
 * ("connection refused") most likely still has its data dir. Restarting it brings back its id,
 * its slots and its keys; reassigning its slots or promoting a stale replica loses writes.
 * redis-medic cannot start processes, so these plans are not executable.
 */
export function restartNodePlans(ctx: PlanContext): FixPlan[] {
  const plans: FixPlan[] = [];
  for (const master of downMasters(ctx)) {
    if (master.reachable !== false) continue;
    const error = master.probe?.error ?? '';
    const refused = master.probe?.failure === 'refused';
    const hung = isSilent(master.probe);
    if (!refused && !hung) continue;
    const fixes = ctx.report.findings.filter((f) => f.nodes.includes(master.id) && f.category === 'fault').map((f) => f.code);
    const title = refused
      ? `Restart redis-server on ${master.addr} with its data dir; it keeps its id and slots`
      : `Restart the hung redis-server on ${master.addr} (it accepts connections but does not reply); it keeps its id and slots`;
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
          ? `Its host answers but nothing listens on ${master.addr} (${error}): the process is down.`
          : `It accepts connections but does not reply (${error}): check the process (swapping? stopped?) before restarting it.`,
        'Start it with the same port, cluster-config-file (nodes.conf) and dir; an empty nodes.conf would make it a new, empty node.',
      ],
      steps: [],
      expected: 'It rejoins with its id and slots, and the cluster returns to cluster_state:ok by itself within a few node timeouts.',
      executable: false,
    };
    plans.push({ ...identify({ ...plan, involved: [master.id], nodes: ctx.report.nodes }), ...plan });
  }
  return plans;
}
