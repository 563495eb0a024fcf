import type { Finding } from '../types';
import { formatRanges } from '../../cluster/slots';
import { evidenceLine, type ClusterModel, type NodeView } from '../model';
import { joinerIds } from './node-keeps-joining';

/**
 * Nodes whose views differ: a partition, a split configuration, or nodes that forgot each
 * other. Compared as redis-cli does (each view's node ids with their slots), plus each node's
 * own cluster_state and whom it flags as failing.
 */
export function nodesDisagree(model: ClusterModel): Finding[] {
  // An instance that keeps trying to join is no member: its view is not a configuration of this
  // cluster (NODE_KEEPS_JOINING names it).
  const joiners = joinerIds(model);
  const views = model.views.filter((v) => v.lines.length > 0 && !(v.myself && joiners.has(v.myself.id)));
  if (views.length < 2) return [];
  const groups = groupBy(views, signature);
  const states = groupBy(views.filter((v) => v.info), (v) => v.info!.state);
  const suspicions = views
    .map((v) => ({ view: v, flagged: v.lines.filter((l) => !l.flags.includes('myself') && (l.flags.includes('fail?') || l.flags.includes('fail'))) }))
    .filter(({ flagged }) => flagged.some((l) => model.nodes.get(l.id)?.reachable === true && model.nodes.get(l.id)?.health !== 'down'));
  if (groups.size < 2 && states.size < 2 && suspicions.length === 0) return [];

  const parts: string[] = [];
  const evidence: string[] = [];
  if (groups.size >= 2) {
    const described = [...groups.values()].map((g) => g.map(viewer).join(', '));
    parts.push(`The nodes hold ${groups.size} different configurations (node ids and slots): ${described.map((d) => `[${d}]`).join(' vs ')}.`);
    evidence.push(...differingLines(views));
  }
  if (states.size >= 2) {
    const ok = states.get('ok') ?? [];
    const fail = states.get('fail') ?? [];
    parts.push(`${fail.map(viewer).join(', ')} say${fail.length === 1 ? 's' : ''} cluster_state:fail while ${ok.map(viewer).join(', ')} say${ok.length === 1 ? 's' : ''} ok: clients get different answers depending on the node they reach.`);
    evidence.push(...[...fail.slice(0, 2), ...ok.slice(0, 1)].map((v) => evidenceLine(viewer(v), `cluster_state:${v.info!.state}`)));
  }
  for (const { view, flagged } of suspicions.slice(0, 3)) {
    const names = flagged.map((l) => l.addr || l.id.slice(0, 8));
    parts.push(`${viewer(view)} flags ${names.join(', ')} as failing although redis-medic reaches ${names.length === 1 ? 'it' : 'them'}: a network partition between nodes.`);
    evidence.push(...flagged.slice(0, 2).map((l) => evidenceLine(viewer(view), l.raw)));
  }
  const split = states.size >= 2 || suspicions.length > 0;
  return [{
    code: 'NODES_DISAGREE',
    severity: split ? 'critical' : 'warning',
    category: 'fault',
    title: 'Nodes disagree about the cluster',
    detail: parts.join(' ') + ' Check the network between the nodes (and their bus ports) before changing slots: a fix made on one side of a partition can be undone by the other.',
    evidence: [...new Set(evidence)].slice(0, 12),
    nodes: views.map((v) => v.myself?.id).filter((id): id is string => Boolean(id)),
    slots: [],
  }];
}

function viewer(view: NodeView): string {
  return view.myself?.addr || view.probe.addr;
}

function signature(view: NodeView): string {
  // Handshake entries are transient (a MEET in flight, random ids): not configuration.
  return view.lines
    .filter((l) => !l.flags.includes('handshake'))
    .map((l) => `${l.id}:${l.flags.includes('master') ? formatRanges(l.slots) : ''}`)
    .sort()
    .join('|');
}

/** Lines that some views print differently (or not at all), for evidence. */
function differingLines(views: NodeView[]): string[] {
  const byId = new Map<string, Map<string, string[]>>();
  for (const view of views) {
    for (const line of view.lines) {
      if (line.flags.includes('handshake')) continue;
      const key = line.flags.includes('master') ? formatRanges(line.slots) : 'replica';
      const variants = byId.get(line.id) ?? new Map<string, string[]>();
      variants.set(key, [...(variants.get(key) ?? []), evidenceLine(viewer(view), line.raw)]);
      byId.set(line.id, variants);
    }
  }
  const out: string[] = [];
  for (const [id, variants] of byId) {
    const seenBy = [...variants.values()].reduce((n, v) => n + v.length, 0);
    if (variants.size > 1) out.push(...[...variants.values()].map((v) => v[0]!));
    else if (seenBy < views.length) out.push(`(${views.length - seenBy} of ${views.length} nodes do not list ${id.slice(0, 8)} at all)`);
  }
  return out;
}

function groupBy<T>(items: T[], keyOf: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(keyOf(item), [...(groups.get(keyOf(item)) ?? []), item]);
  return groups;
}
