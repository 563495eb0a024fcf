import { isSilent } from '../../cluster/types';
import { replicasOf, seenLines, slotOwningMasters, type ClusterModel, type ModelNode } from '../model';

/**
 * What a node that is listed but serves no slot and does not answer really is. Only a stale
 * entry is a ghost to forget; the others hold data, or forgetting them does nothing:
 * - ghost: a `noaddr` leftover, an old id whose address now answers under another id, or a
 *   failed master that owns no slots (failed over: its promoted replica serves its slots; or it
 *   never had any) and shares its config epoch with no slot owner;
 * - shard-copy: a failed replica of a failed master that has no live replica: it may hold the
 *   only surviving copy of that shard (SHARD_ALL_COPIES_DOWN);
 * - replica-down: any other failed replica: a copy to restart, not to forget (REPLICA_DOWN);
 * - split-brain: a failed slot-less master with the same config epoch as a master that serves
 *   slots: its own nodes.conf most likely still claims them (SPLIT_BRAIN);
 * - handshake: an entry Redis drops by itself after node-timeout; seen again with new ids, an
 *   instance keeps sending MEET (NODE_KEEPS_JOINING);
 * - silent: it accepts connections but does not reply and the cluster has not failed it
 *   (frozen, overloaded): NODE_UNREACHABLE says so.
 */
export type Lingering =
  | { kind: 'ghost'; node: ModelNode; why: string }
  | { kind: 'shard-copy'; node: ModelNode; master: ModelNode }
  | { kind: 'replica-down'; node: ModelNode; master: ModelNode | undefined }
  | { kind: 'split-brain'; node: ModelNode; rivals: ModelNode[] }
  | { kind: 'handshake'; node: ModelNode }
  | { kind: 'silent'; node: ModelNode };

const cache = new WeakMap<ClusterModel, Map<string, Lingering>>();

/** Every listed node that answers nothing and owns no slot, by id, with what it is (computed once per model). */
export function lingeringNodes(model: ClusterModel): Map<string, Lingering> {
  let out = cache.get(model);
  if (!out) {
    out = classify(model);
    cache.set(model, out);
  }
  return out;
}

export function lingeringOfKind<K extends Lingering['kind']>(model: ClusterModel, kind: K): Array<Extract<Lingering, { kind: K }>> {
  return [...lingeringNodes(model).values()].filter((l): l is Extract<Lingering, { kind: K }> => l.kind === kind);
}

/**
 * A slot-owning master that is down and whose replicas are all down too: no live node holds a
 * copy of its slots. Its replicas, or null when it is not such a shard.
 */
export function downShardCopies(model: ClusterModel, master: ModelNode): ModelNode[] | null {
  if (master.role !== 'master' || master.slots.length === 0) return null;
  if (master.health !== 'down' && master.health !== 'suspect') return null;
  const replicas = replicasOf(model, master.id);
  if (replicas.length === 0 || replicas.some((r) => r.health === 'up')) return null;
  return [...replicas];
}

function classify(model: ClusterModel): Map<string, Lingering> {
  const out = new Map<string, Lingering>();
  const liveByAddr = new Map<string, ModelNode>();
  for (const node of model.nodes.values()) if (node.reachable === true && node.addr) liveByAddr.set(node.addr, node);
  const owners = slotOwningMasters(model);

  for (const node of model.nodes.values()) {
    if (node.reachable === true || node.slots.length > 0) continue;
    const lines = seenLines(node);
    const replacement = liveByAddr.get(node.addr);
    if (lines.some((l) => l.flags.includes('handshake'))) {
      out.set(node.id, { kind: 'handshake', node });
    } else if (lines.some((l) => l.flags.includes('noaddr'))) {
      out.set(node.id, { kind: 'ghost', node, why: 'has no address (noaddr)' });
    } else if (replacement && replacement.id !== node.id) {
      out.set(node.id, {
        kind: 'ghost',
        node,
        why: `an old id: ${node.addr} now answers as ${replacement.id.slice(0, 8)} (restarted with an empty nodes.conf?)`,
      });
    } else if (node.health !== 'down') {
    } else if (node.role === 'replica') {
      const master = node.masterId ? model.nodes.get(node.masterId) : undefined;
      if (master && downShardCopies(model, master)) out.set(node.id, { kind: 'shard-copy', node, master });
      else if (isSilent(node.probe) && node.flagged !== 'fail') out.set(node.id, { kind: 'silent', node });
      else out.set(node.id, { kind: 'replica-down', node, master });
    } else {
      const rivals = node.role === 'master' && node.epoch > 0 ? owners.filter((o) => o.id !== node.id && o.epoch === node.epoch) : [];
      if (rivals.length > 0) out.set(node.id, { kind: 'split-brain', node, rivals });
      // A process that accepts connections but does not reply (frozen, overloaded) is not a ghost.
      else if (isSilent(node.probe)) out.set(node.id, { kind: 'silent', node });
      else out.set(node.id, { kind: 'ghost', node, why: `failed and owns no slots (${node.role})` });
    }
  }
  return out;
}
