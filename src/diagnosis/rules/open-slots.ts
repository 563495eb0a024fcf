import type { Finding } from '../types';
import { toRanges } from '../../cluster/slots';
import { evidenceLine, type ClusterModel } from '../model';
import { plural } from '../../text';

/** Slots left MIGRATING or IMPORTING: a resharding that was interrupted. */
export function openSlots(model: ClusterModel): Finding[] {
  const parts: string[] = [];
  const evidence: string[] = [];
  const slots: number[] = [];
  const nodes = new Set<string>();
  const name = (id: string): string => model.nodes.get(id)?.addr || id.slice(0, 8);
  for (const view of model.views) {
    const me = view.myself;
    if (!me || (me.migrating.length === 0 && me.importing.length === 0)) continue;
    nodes.add(me.id);
    evidence.push(evidenceLine(me.addr, me.raw));
    for (const { slot, to } of me.migrating) {
      slots.push(slot);
      nodes.add(to);
      parts.push(`slot ${slot} is MIGRATING from ${me.addr} to ${name(to)}`);
    }
    for (const { slot, from } of me.importing) {
      slots.push(slot);
      nodes.add(from);
      parts.push(`slot ${slot} is IMPORTING into ${me.addr} from ${name(from)}`);
    }
  }
  if (parts.length === 0) return [];
  const unique = [...new Set(slots)];
  return [{
    code: 'OPEN_SLOTS',
    severity: 'warning',
    category: 'fault',
    title: `${plural(unique.length, 'open slot')} (migration interrupted)`,
    detail:
      `${parts.join('; ')}. Clients get ASK redirects and multi-key commands get TRYAGAIN until the slot is closed; ` +
      'redis-cli --cluster check fails. Close it towards the node that holds its keys (CLUSTER COUNTKEYSINSLOT), then SETSLOT NODE / STABLE.',
    evidence,
    nodes: [...nodes],
    slots: toRanges(unique),
  }];
}
