import type { Finding } from '../types';
import { countSlots, formatRanges, mergeRanges, type SlotRange } from '../../cluster/slots';
import { evidenceLine, label, requiresFullCoverage, seenRaw, type ClusterModel, type ModelNode } from '../model';

/**
 * Slots that no master serves although nothing is down: never assigned, or dropped by their
 * owner (CLUSTER DELSLOTS) while other nodes still route them to it.
 */
export function slotsUnassigned(model: ClusterModel): Finding[] {
  const unassigned = mergeRanges(model.slotRuns.filter((r) => !r.owner).map((r): SlotRange => [r.from, r.to]));
  const dropped = new Map<ModelNode, SlotRange[]>();
  for (const run of model.slotRuns) {
    if (run.owner && run.disowned) dropped.set(run.owner, [...(dropped.get(run.owner) ?? []), [run.from, run.to]]);
  }
  if (unassigned.length === 0 && dropped.size === 0) return [];

  const droppedNodes = [...dropped.keys()];
  const all = mergeRanges([...unassigned, ...[...dropped.values()].flat()]);
  const fullCoverage = requiresFullCoverage(model);
  const parts: string[] = [];
  if (unassigned.length)
    parts.push(
      `No node owns slots ${formatRanges(unassigned)} (${countSlots(unassigned)} slots): they were never assigned, or every node forgot them.`,
    );
  for (const node of droppedNodes) {
    const ranges = mergeRanges(dropped.get(node)!);
    parts.push(
      `${label(node)} no longer claims slots ${formatRanges(ranges)} (its own view has no owner for them), while other nodes still route them to it: ` +
        `clients get "CLUSTERDOWN Hash slot not served". Its keys for those slots may still be on it.`,
    );
  }
  parts.push(
    fullCoverage === false
      ? 'cluster-require-full-coverage is no: the other slots are still served.'
      : 'With cluster-require-full-coverage yes, nodes that see the gap refuse every query ("CLUSTERDOWN The cluster is down").',
  );
  return [
    {
      code: 'SLOTS_UNASSIGNED',
      severity: fullCoverage === false ? 'warning' : 'critical',
      category: 'fault',
      title: `${countSlots(all)} slots have no owner: ${formatRanges(all)}`,
      detail: parts.join(' '),
      evidence: [...assignedEvidence(model), ...droppedNodes.flatMap((n) => droppedEvidence(n))],
      nodes: droppedNodes.map((n) => n.id),
      slots: all,
    },
  ];
}

function assignedEvidence(model: ClusterModel): string[] {
  return model.views
    .filter((v) => v.info)
    .slice(0, 3)
    .map((v) =>
      evidenceLine(v.myself?.addr ?? v.probe.addr, `cluster_state:${v.info!.state} cluster_slots_assigned:${v.info!.slotsAssigned}`),
    );
}

function droppedEvidence(node: ModelNode): string[] {
  const out: string[] = [];
  if (node.own?.myself) out.push(evidenceLine(node.addr, node.own.myself.raw));
  const other = node.seenBy[0];
  if (other) out.push(evidenceLine(other.viewer, seenRaw(other)));
  return out;
}
