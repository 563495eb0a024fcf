import type { Finding } from '../types';
import { formatRanges } from '../../cluster/slots';
import type { ClusterNodeLine } from '../../cluster/types';
import { evidenceLine, rawLineAt, rawLineIn, type ClusterModel, type LineTable, type NodeView } from '../model';
import { joinerIds } from './node-keeps-joining';
import { joiningNodes, replicaLink } from './transitions';

/**
 * Nodes whose views differ: a partition, a split configuration, or nodes that forgot each
 * other. Compared as redis-cli does (each view's node ids with their slots), plus each node's
 * own cluster_state and whom it flags as failing.
 */
export function nodesDisagree(model: ClusterModel): Finding[] {
  // An instance that keeps trying to join is no member: its view is not a configuration of this
  // cluster (NODE_KEEPS_JOINING names it).
  // Nor is the view of a node being added, until it has caught up (NODE_JOINING names it).
  const joiners = new Set([...joinerIds(model), ...joiningNodes(model).keys()]);
  const views = model.views.filter((v) => v.lines.length > 0 && !(v.myself && joiners.has(v.myself.id)));
  if (views.length < 2) return [];
  const table = model.lineTable;
  // Whether a view lists the node being added yet is gossip at work, not configuration.
  const groups = configurationGroups(views, table, joiners);
  const states = groupBy(
    views.filter((v) => v.info),
    (v) => v.info!.state,
  );
  // A replica that just came back and is (re)syncing is still flagged by the nodes that have not
  // heard from it since: each clears the flag at its next pong. That is the rejoin, not a partition.
  const rejoining = (id: string): boolean => {
    const node = model.nodes.get(id);
    const link = node ? replicaLink(model, node)?.kind : undefined;
    return link === 'syncing' || link === 'reconnecting';
  };
  const suspicions = views
    .map((v) => ({ view: v, flagged: failingLines(v, table).filter((l) => !rejoining(l.id)) }))
    .filter(({ flagged }) => flagged.some((l) => model.nodes.get(l.id)?.reachable === true && model.nodes.get(l.id)?.health !== 'down'));
  if (groups.size < 2 && states.size < 2 && suspicions.length === 0) return [];

  const parts: string[] = [];
  const evidence: string[] = [];
  if (groups.size >= 2) {
    const described = [...groups.values()].map((g) => g.map(viewer).join(', '));
    parts.push(
      `The nodes hold ${groups.size} different configurations (node ids and slots): ${described.map((d) => `[${d}]`).join(' vs ')}.`,
    );
    evidence.push(...differingLines(views, table));
  }
  if (states.size >= 2) {
    const ok = states.get('ok') ?? [];
    const fail = states.get('fail') ?? [];
    parts.push(
      `${fail.map(viewer).join(', ')} say${fail.length === 1 ? 's' : ''} cluster_state:fail while ${ok.map(viewer).join(', ')} say${ok.length === 1 ? 's' : ''} ok: clients get different answers depending on the node they reach.`,
    );
    evidence.push(...[...fail.slice(0, 2), ...ok.slice(0, 1)].map((v) => evidenceLine(viewer(v), `cluster_state:${v.info!.state}`)));
  }
  for (const { view, flagged } of suspicions.slice(0, 3)) {
    const names = flagged.map((l) => l.addr || l.id.slice(0, 8));
    parts.push(
      `${viewer(view)} flags ${names.join(', ')} as failing although redis-medic reaches ${names.length === 1 ? 'it' : 'them'}: a network partition between nodes.`,
    );
    evidence.push(...flagged.slice(0, 2).map((l) => evidenceLine(viewer(view), rawLineIn(view, l))));
  }
  const split = states.size >= 2 || suspicions.length > 0;
  return [
    {
      code: 'NODES_DISAGREE',
      severity: split ? 'critical' : 'warning',
      category: 'fault',
      title: 'Nodes disagree about the cluster',
      detail:
        parts.join(' ') +
        ' Check the network between the nodes (and their bus ports) before changing slots: a fix made on one side of a partition can be undone by the other.',
      evidence: [...new Set(evidence)].slice(0, 12),
      nodes: views.map((v) => v.myself?.id).filter((id): id is string => Boolean(id)),
      slots: [],
    },
  ];
}

function viewer(view: NodeView): string {
  return view.myself?.addr || view.probe.addr;
}

/** The lines a view flags `fail?` or `fail` (not its own), looked at once per distinct line. */
function failingLines(view: NodeView, table: LineTable): ClusterNodeLine[] {
  const failing =
    failingOf.get(table) ?? table.lines.map((l) => !l.flags.includes('myself') && (l.flags.includes('fail?') || l.flags.includes('fail')));
  failingOf.set(table, failing);
  const indices = table.ofView.get(view)!;
  const out: ClusterNodeLine[] = [];
  for (let i = 0; i < indices.length; i++) if (failing[indices[i]!]) out.push(view.lines[i]!);
  return out;
}

const failingOf = new WeakMap<LineTable, boolean[]>();

/**
 * The views grouped by configuration as redis-cli compares it: the node ids with their slots
 * (masters), in any order; groups in the order of their first view. Each distinct line gets a
 * token number once; a view's configuration is its sorted token numbers.
 */
function configurationGroups(views: NodeView[], table: LineTable, joiners: ReadonlySet<string>): Map<string, NodeView[]> {
  const numbers = new Map<string, number>();
  const tokenOf = new Int32Array(table.lines.length);
  table.lines.forEach((line, index) => {
    // Handshake entries are transient (a MEET in flight, random ids): not configuration.
    if (line.flags.includes('handshake') || joiners.has(line.id)) {
      tokenOf[index] = -1;
      return;
    }
    // A node without slots shows the same as master or replica: a CLUSTER REPLICATE spreading by
    // gossip (a replica being added, an old master rejoining) is no difference of configuration.
    const text = `${line.id}:${line.flags.includes('master') && line.slots.length > 0 ? formatRanges(line.slots) : '-'}`;
    let token = numbers.get(text);
    if (token === undefined) {
      token = numbers.size;
      numbers.set(text, token);
    }
    tokenOf[index] = token;
  });
  // Candidates by an order-free summary (count, sums), then compared exactly (as multisets:
  // counted, not sorted).
  const tally = new Int32Array(numbers.size);
  const groups: Array<{ tokens: Int32Array; views: NodeView[] }> = [];
  const bySummary = new Map<string, Array<{ tokens: Int32Array; views: NodeView[] }>>();
  for (const view of views) {
    const indices = table.ofView.get(view)!;
    const all = new Int32Array(indices.length);
    let length = 0;
    let sum = 0;
    let mixed = 0;
    for (let i = 0; i < indices.length; i++) {
      const token = tokenOf[indices[i]!]!;
      if (token === -1) continue;
      all[length++] = token;
      sum = (sum + token) | 0;
      mixed = (mixed + Math.imul(token + 1, 0x9e3779b1)) | 0;
    }
    const tokens = all.subarray(0, length);
    const summary = `${tokens.length}:${sum}:${mixed}`;
    const candidates = bySummary.get(summary) ?? [];
    const group = candidates.find((g) => sameTokens(g.tokens, tokens, tally));
    if (group) {
      group.views.push(view);
      continue;
    }
    const created = { tokens, views: [view] };
    candidates.push(created);
    bySummary.set(summary, candidates);
    groups.push(created);
  }
  return new Map(groups.map((g, i) => [String(i), g.views]));
}

/** The same token numbers, each as many times, in any order. `tally` is all zeros, and is left so. */
function sameTokens(a: Int32Array, b: Int32Array, tally: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) tally[a[i]!]!++;
  let same = true;
  for (let i = 0; i < b.length && same; i++) if (--tally[b[i]!]! < 0) same = false;
  for (let i = 0; i < a.length; i++) tally[a[i]!] = 0;
  for (let i = 0; i < b.length; i++) tally[b[i]!] = 0;
  return same;
}

/** Lines that some views print differently (or not at all), for evidence. */
function differingLines(views: NodeView[], table: LineTable): string[] {
  // How many of these views print each distinct line, and where it first appears among them.
  const counts = new Int32Array(table.lines.length);
  const firstIndex = new Int32Array(table.lines.length);
  const firstView: NodeView[] = [];
  const order: number[] = [];
  for (const view of views) {
    const indices = table.ofView.get(view)!;
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i]!;
      counts[index] = counts[index]! + 1;
      if (counts[index] > 1) continue;
      order.push(index);
      firstView[index] = view;
      firstIndex[index] = i;
    }
  }
  // Per node id, its variants (slots for a master, 'replica' otherwise) in the order they first
  // appear, with the first view printing each and the number of views that do.
  const byId = new Map<string, Map<string, { view: NodeView; index: number; count: number }>>();
  for (const index of order) {
    const line = table.lines[index]!;
    if (line.flags.includes('handshake')) continue;
    const key = line.flags.includes('master') ? formatRanges(line.slots) : 'replica';
    let variants = byId.get(line.id);
    if (!variants) {
      variants = new Map();
      byId.set(line.id, variants);
    }
    const variant = variants.get(key);
    if (variant) variant.count += counts[index]!;
    else variants.set(key, { view: firstView[index]!, index: firstIndex[index]!, count: counts[index]! });
  }
  const out: string[] = [];
  for (const [id, variants] of byId) {
    let seenBy = 0;
    for (const v of variants.values()) seenBy += v.count;
    if (variants.size > 1) out.push(...[...variants.values()].map((v) => evidenceLine(viewer(v.view), rawLineAt(v.view, v.index))));
    else if (seenBy < views.length) out.push(`(${views.length - seenBy} of ${views.length} nodes do not list ${id.slice(0, 8)} at all)`);
  }
  return out;
}

function groupBy<T>(items: T[], keyOf: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
