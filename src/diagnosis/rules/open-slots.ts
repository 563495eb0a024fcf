import type { Finding } from '../types';
import { toRanges } from '../../cluster/slots';
import { evidenceLine, openSlotKeys, type ClusterModel } from '../model';
import { plural } from '../../text';
import { movingSlots } from './transitions';

/**
 * Slots left MIGRATING or IMPORTING: a resharding that was interrupted. Slots whose keys are
 * moving while we look are a resharding at work (RESHARDING_IN_PROGRESS), not this fault.
 */
export function openSlots(model: ClusterModel): Finding[] {
  const moving = movingSlots(model);
  const parts: string[] = [];
  const evidence: string[] = [];
  const slots: number[] = [];
  const nodes = new Set<string>();
  const name = (id: string): string => model.nodes.get(id)?.addr || id.slice(0, 8);
  // Key counts on both ends (collected for open slots only): they decide which way it can close.
  const keys = (slot: number, ...ids: string[]): string => {
    const parts = ids
      .map((id) => {
        const count = openSlotKeys(model.nodes.get(id), slot);
        return count === undefined ? null : `${plural(count, 'key')} on ${name(id)}`;
      })
      .filter(Boolean);
    return parts.length ? ` (${parts.join(', ')})` : '';
  };
  for (const view of model.views) {
    const me = view.myself;
    const migrating = me?.migrating.filter((m) => !moving.has(m.slot)) ?? [];
    const importing = me?.importing.filter((i) => !moving.has(i.slot)) ?? [];
    if (!me || (migrating.length === 0 && importing.length === 0)) continue;
    nodes.add(me.id);
    evidence.push(evidenceLine(me.addr, me.raw));
    for (const { slot, to } of migrating) {
      slots.push(slot);
      nodes.add(to);
      parts.push(`slot ${slot} is MIGRATING from ${me.addr} to ${name(to)}${keys(slot, me.id, to)}`);
    }
    for (const { slot, from } of importing) {
      slots.push(slot);
      nodes.add(from);
      parts.push(`slot ${slot} is IMPORTING into ${me.addr} from ${name(from)}${keys(slot, me.id, from)}`);
    }
  }
  if (parts.length === 0) return [];
  const unique = [...new Set(slots)];
  return [
    {
      code: 'OPEN_SLOTS',
      severity: 'warning',
      category: 'fault',
      title: `${plural(unique.length, 'open slot')} (migration interrupted)`,
      detail:
        `${parts.join('; ')}. Clients get ASK redirects and multi-key commands get TRYAGAIN until the slot is closed; ` +
        'redis-cli --cluster check fails. Close it towards the node that holds its keys: move what is left (MIGRATE), then SETSLOT NODE / STABLE.',
      evidence,
      nodes: [...nodes],
      slots: toRanges(unique),
    },
  ];
}
