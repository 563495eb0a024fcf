import type { Finding } from '../types';
import { formatRanges, mergeRanges, SLOT_COUNT, toRanges, type SlotRange } from '../../cluster/slots';
import { label, lineEvidence, probeEvidence, type ClusterModel, type ModelNode } from '../model';
import { lingeringOfKind } from './lingering';

/**
 * Two masters that claim the same slots, each in its own view (a partition, or slots assigned by
 * hand on one side), and failed masters that share a config epoch with a live slot owner (their
 * nodes.conf most likely still claims its slots). Redis settles such a conflict only when both
 * see each other, and the loser's keys of the contested slots are dropped: a person must choose
 * which copy to keep before that happens. Never a ghost to forget.
 */
export function splitBrain(model: ClusterModel): Finding[] {
  const findings: Finding[] = [];
  for (const [a, b, contested] of ownClaimConflicts(model)) {
    const sameEpoch = a.epoch === b.epoch;
    const winner = sameEpoch ? tieWinner(a, b) : a.epoch > b.epoch ? a : b;
    const loser = winner === a ? b : a;
    findings.push({
      code: 'SPLIT_BRAIN',
      severity: 'critical',
      category: 'fault',
      title: `Split brain: ${a.addr} and ${b.addr} both claim slots ${formatRanges(contested)}`,
      detail:
        `${label(a)} (config epoch ${a.epoch}) and ${label(b)} (config epoch ${b.epoch}) both claim slots ${formatRanges(contested)} in their own views: ` +
        'clients that reach one or the other write to different copies. ' +
        (sameEpoch
          ? `With equal epochs nothing decides: once they see each other, the one with the lower node id (${winner.addr}) bumps its epoch and its claim wins. `
          : `Once they see each other, the higher epoch (${winner.addr}) wins. `) +
        `${loser.addr} then drops its keys of those slots. Check the network between them first (their bus ports), forget neither, ` +
        'and decide which copy to keep (CLUSTER COUNTKEYSINSLOT on both); then CLUSTER BUMPEPOCH on the one to keep, so that its claim wins.',
      evidence: [...lineEvidence(a, 1), ...lineEvidence(b, 1)],
      nodes: [a.id, b.id],
      slots: contested,
    });
  }
  for (const { node, rivals } of lingeringOfKind(model, 'split-brain')) {
    const rival = rivals[0]!;
    const winner = tieWinner(node, rival);
    const keys = rival.own?.probe.replies?.dbsize;
    const rivalSlots = mergeRanges(rivals.flatMap((r) => r.slots));
    findings.push({
      code: 'SPLIT_BRAIN',
      severity: 'critical',
      category: 'fault',
      title: `Epoch conflict: failed master ${node.addr || node.id.slice(0, 8)} shares config epoch ${node.epoch} with ${rivals.map((r) => r.addr).join(', ')}`,
      detail:
        `${label(node)} is a master the cluster has failed and routes no slots to, yet its config epoch ${node.epoch} is the same as that of ` +
        `${rivals.map((r) => `${label(r)}, which serves slots ${formatRanges(r.slots)}`).join(', and ')}. ` +
        'Two masters never share a config epoch in a healthy cluster (Redis resolves a collision as soon as both see each other): ' +
        `${rival.addr} took its slots without a new epoch (ADDSLOTS or SETSLOT by hand, or a fix run while ${node.addr || 'it'} was cut off), ` +
        `so its claim does not beat the one ${node.addr || 'the failed node'}'s own nodes.conf most likely still holds. ` +
        `When it comes back, the node with the lower id (${winner.addr || winner.id.slice(0, 8)}) bumps its epoch and its claim wins everywhere: ` +
        "the other side's keys of the contested slots are dropped. Do not forget it: that hides the conflict, not its nodes.conf. " +
        `Before it rejoins, decide which copy to keep: ${rival.addr} holds ${typeof keys === 'number' ? `${keys} keys` : 'its keys'} now; ` +
        `${node.addr || 'the failed node'}'s data dir holds what it had. To keep ${rival.addr}'s, CLUSTER BUMPEPOCH on it (its claim becomes the newest), then restart ` +
        `${node.addr || 'the failed node'}: it gives the slots up. To keep the failed node's, load its data dir into a standalone redis-server ` +
        '(cluster-enabled no, another port) and copy the keys you need into the cluster first.',
      evidence: [...lineEvidence(node, 1), ...probeEvidence(node), ...rivals.flatMap((r) => lineEvidence(r, 1))],
      nodes: [node.id, ...rivals.map((r) => r.id)],
      slots: rivalSlots,
    });
  }
  return findings;
}

/**
 * Redis's epoch-collision rule: of two masters with the same config epoch, the one with the
 * lexicographically smaller node id takes a new epoch, so its claims win.
 */
function tieWinner(a: ModelNode, b: ModelNode): ModelNode {
  return a.id < b.id ? a : b;
}

/**
 * Pairs of masters whose own `myself` lines claim overlapping slots: one pass over the slots
 * each claims (16384 at most in a sane cluster), not a comparison of every pair.
 */
function ownClaimConflicts(model: ClusterModel): Array<[ModelNode, ModelNode, SlotRange[]]> {
  const claimants = [...model.nodes.values()]
    .filter((n) => n.own?.myself?.flags.includes('master') && n.ownSlots && n.ownSlots.length > 0)
    .sort((x, y) => x.id.localeCompare(y.id));
  const claimedBy = new Int32Array(SLOT_COUNT).fill(-1);
  const contested = new Map<string, { a: number; b: number; slots: number[] }>();
  claimants.forEach((node, index) => {
    for (const [from, to] of node.ownSlots!) {
      for (let slot = from; slot <= to && slot < SLOT_COUNT; slot++) {
        const other = claimedBy[slot]!;
        if (other === -1) claimedBy[slot] = index;
        else if (other !== index) {
          const key = `${other}|${index}`;
          const entry = contested.get(key) ?? { a: other, b: index, slots: [] };
          entry.slots.push(slot);
          contested.set(key, entry);
        }
      }
    }
  });
  const out: Array<[ModelNode, ModelNode, SlotRange[]]> = [];
  for (const { a: i, b: j, slots } of contested.values()) {
    const a = claimants[i]!;
    const b = claimants[j]!;
    // Different epochs between nodes that see each other settle within one gossip round (an
    // old master rejoining as a replica): only a tie, or a cut between them, lasts.
    if (a.epoch === b.epoch || !seesHealthy(a, b) || !seesHealthy(b, a)) out.push([a, b, toRanges(slots)]);
  }
  return out;
}

function seesHealthy(viewer: ModelNode, other: ModelNode): boolean {
  const line = viewer.own?.lines.find((l) => l.id === other.id);
  return line !== undefined && !line.flags.includes('fail') && !line.flags.includes('fail?') && !line.flags.includes('handshake');
}
