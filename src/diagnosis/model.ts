import { comparableAddr, formatHostPort, parseHostPort, type HostPort } from '../cluster/address';
import { parseClusterInfo, parseReplicationInfo } from '../cluster/parse-info';
import { parseClusterNodes } from '../cluster/parse-nodes';
import { SLOT_COUNT, type SlotRange } from '../cluster/slots';
import type { ClusterInfo, ClusterNodeLine, ClusterSnapshot, NodeProbe } from '../cluster/types';
import { errorMessage } from '../errors';
import { splitImpostors, type Impostor } from './identity';
import type { NodeIdentity } from './types';

/** One node's own answer: how it sees the cluster. */
export interface NodeView {
  probe: NodeProbe;
  /** Who answered: from its `myself` line. */
  myself?: ClusterNodeLine;
  lines: ClusterNodeLine[];
  info?: ClusterInfo;
  config: Record<string, string>;
  replication: Record<string, string>;
  parseError?: string;
}

export interface SlotRun {
  from: number;
  to: number;
  owner: ModelNode | null;
  served: boolean;
  /** The owner is up but its own view no longer claims these slots (CLUSTER DELSLOTS). */
  disowned: boolean;
}

/** Everything known about one node id, merged over all views. */
export interface ModelNode extends NodeIdentity {
  /** Its own view, when it answered. */
  own?: NodeView;
  probe?: NodeProbe;
  /** How each other view lists it: `[viewer addr, line]`. */
  seenBy: Array<{ viewer: string; line: ClusterNodeLine }>;
  reachable: boolean | null;
  /** fail: some view says `fail`; pfail: some view says `fail?` and none `fail`. */
  flagged: 'fail' | 'pfail' | null;
  health: 'up' | 'suspect' | 'down' | 'unknown';
  /** The slots the cluster routes to it (consensus of views), and the ones it claims itself. */
  slots: SlotRange[];
  ownSlots: SlotRange[] | null;
  epoch: number;
}

export interface ClusterModel {
  snapshot: ClusterSnapshot;
  views: NodeView[];
  nodes: Map<string, ModelNode>;
  /**
   * The 16384 slots as consecutive runs, each with the node the cluster routes it to (highest
   * epoch claim) and whether that owner serves it: up, and still claiming it in its own view.
   */
  slotRuns: SlotRun[];
  /** Per slot, the id of the node the cluster routes it to, or null (derived from slotRuns). */
  owner: Array<string | null>;
  /** Probes that answered but whose node is not in any view (should not happen) or failed. */
  unreachable: NodeProbe[];
  /** Answers from an address where the cluster lists another node: not used as views. */
  impostors: Array<Impostor<NodeView>>;
}

export function buildModel(snapshot: ClusterSnapshot): ClusterModel {
  const { trusted: views, impostors } = splitImpostors(snapshot.probes.filter((p) => p.status === 'ok' && p.replies).map(toView));
  const nodes = new Map<string, ModelNode>();
  const probeByAddr = new Map<string, NodeProbe>();
  for (const probe of snapshot.probes) probeByAddr.set(comparableAddr(probe.addr), probe);

  for (const view of views) {
    for (const line of view.lines) {
      const node = nodes.get(line.id) ?? newNode(line);
      nodes.set(line.id, node);
      if (line.flags.includes('myself')) {
        node.own = view;
        node.probe = view.probe;
      } else {
        node.seenBy.push({ viewer: view.myself?.addr || view.probe.addr, line });
      }
    }
  }

  // A probe that answered belongs to the id in its own myself line: an old id listed at the
  // same address (a node restarted with an empty nodes.conf) must not borrow its answer.
  const answeredBy = new Map(views.map((v) => [v.probe, v.myself?.id]));
  for (const node of nodes.values()) {
    const byAddr = node.addr ? probeByAddr.get(comparableAddr(node.addr)) : undefined;
    if (!node.probe && byAddr && (byAddr.status !== 'ok' || answeredBy.get(byAddr) === node.id)) node.probe = byAddr;
    mergeNode(node);
  }

  const slotRuns = runsOf(slotOwners(views, nodes), nodes);
  for (const node of nodes.values()) node.slots = [];
  for (const run of slotRuns) {
    const slots = run.owner?.slots;
    const last = slots?.[slots.length - 1];
    if (last && last[1] === run.from - 1) last[1] = run.to;
    else slots?.push([run.from, run.to]);
  }

  const unreachable = snapshot.probes.filter((p) => p.status === 'unreachable');
  const owner = new Array<string | null>(SLOT_COUNT).fill(null);
  for (const run of slotRuns) if (run.owner) owner.fill(run.owner.id, run.from, run.to + 1);
  return { snapshot, views, nodes, slotRuns, owner, unreachable, impostors };
}

/** Compress the owner table into runs, split further where the owner itself dropped slots. */
function runsOf(owners: { owner: Int32Array; ids: string[] }, nodes: Map<string, ModelNode>): SlotRun[] {
  const runs: SlotRun[] = [];
  const slotCount = SLOT_COUNT; // a local: the imported binding is a getter call under tsx
  let start = 0;
  for (let slot = 1; slot <= slotCount; slot++) {
    if (slot < slotCount && owners.owner[slot] === owners.owner[start]) continue;
    const index = owners.owner[start]!;
    const node = index === -1 ? null : nodes.get(owners.ids[index]!) ?? null;
    runs.push(...servedParts(start, slot - 1, node));
    start = slot;
  }
  return runs;
}

function servedParts(from: number, to: number, owner: ModelNode | null): SlotRun[] {
  if (!owner || owner.health === 'down') return [{ from, to, owner, served: false, disowned: false }];
  // Its own view wins about its own slots: a node that dropped a slot (DELSLOTS) does not
  // serve it, whatever the others still route to it.
  if (owner.ownSlots === null) return [{ from, to, owner, served: true, disowned: false }];
  const parts: SlotRun[] = [];
  let cursor = from;
  for (const [a, b] of [...owner.ownSlots].sort((x, y) => x[0] - y[0])) {
    const lo = Math.max(a, from);
    const hi = Math.min(b, to);
    if (lo > hi) continue;
    if (lo > cursor) parts.push({ from: cursor, to: lo - 1, owner, served: false, disowned: true });
    parts.push({ from: lo, to: hi, owner, served: true, disowned: false });
    cursor = hi + 1;
  }
  if (cursor <= to) parts.push({ from: cursor, to, owner, served: false, disowned: true });
  return parts;
}

function toView(probe: NodeProbe): NodeView {
  const replies = probe.replies!;
  const view: NodeView = { probe, lines: [], config: replies.config ?? {}, replication: {} };
  try {
    view.lines = parseClusterNodes(replies.clusterNodes);
    view.myself = view.lines.find((l) => l.flags.includes('myself'));
    const reachedAt = view.myself && !view.myself.addr ? hostPortOf(probe.addr) : undefined;
    if (view.myself && reachedAt) {
      // A node that never learnt its own IP prints `:0` or `:port`; we know where we reached it.
      // A paste without a prompt gives only a label (`pasted-view-1`): that is no address, and
      // the node stays without one rather than becoming a target named after the label.
      view.myself = { ...view.myself, addr: formatHostPort(reachedAt), host: reachedAt.host, port: reachedAt.port, ...(view.myself.busPort ? {} : { busPort: reachedAt.port + 10000 }) };
      view.lines = view.lines.map((l) => (l.flags.includes('myself') ? view.myself! : l));
    }
  } catch (err) {
    view.parseError = errorMessage(err);
  }
  try {
    if (replies.clusterInfo) view.info = parseClusterInfo(replies.clusterInfo);
  } catch (err) {
    view.parseError ??= errorMessage(err);
  }
  if (replies.infoReplication) view.replication = parseReplicationInfo(replies.infoReplication);
  return view;
}

function hostPortOf(text: string): HostPort | undefined {
  try {
    return parseHostPort(text);
  } catch {
    return undefined;
  }
}

function newNode(line: ClusterNodeLine): ModelNode {
  return {
    id: line.id,
    addr: line.addr,
    host: line.host,
    port: line.port,
    busPort: line.busPort,
    role: 'unknown',
    masterId: null,
    seenBy: [],
    reachable: null,
    flagged: null,
    health: 'unknown',
    slots: [],
    ownSlots: null,
    epoch: 0,
  };
}

function mergeNode(node: ModelNode): void {
  const own = node.own?.myself;
  // Its own line is the truth about itself; otherwise the majority of other views.
  const reference = own ?? mostCommon(node.seenBy.map((s) => s.line), (l) => `${roleOf(l)}|${l.masterId}|${l.addr}`);
  if (reference) {
    node.role = roleOf(reference);
    node.masterId = reference.masterId;
    node.epoch = Math.max(reference.configEpoch, ...node.seenBy.map((s) => s.line.configEpoch));
    // A node that does not know its own address (`:0`) may still be listed at one by the others.
    const located = reference.addr ? reference : mostCommon(node.seenBy.map((s) => s.line).filter((l) => l.addr), (l) => l.addr);
    if (located) {
      node.addr = located.addr;
      node.host = located.host;
      node.port = located.port;
      node.busPort = located.busPort;
    }
  }
  node.ownSlots = own ? own.slots : null;
  if (node.own) node.reachable = true;
  else if (node.probe) node.reachable = node.probe.status === 'ok' ? true : node.probe.status === 'unreachable' ? false : null;

  const flags = node.seenBy.flatMap((s) => s.line.flags);
  node.flagged = flags.includes('fail') ? 'fail' : flags.includes('fail?') ? 'pfail' : null;
  if (node.reachable === false || (node.flagged === 'fail' && node.reachable !== true)) node.health = 'down';
  else if (node.reachable === true) node.health = node.flagged ? 'suspect' : 'up';
  else if (node.flagged === 'pfail') node.health = 'suspect';
  else if (node.flagged === 'fail') node.health = 'down';
  else node.health = node.seenBy.some((s) => s.line.flags.includes('handshake') || s.line.flags.includes('noaddr')) ? 'unknown' : 'up';
  // Offline, a node only listed by one view is "up" only as far as that view can tell.
}

function roleOf(line: ClusterNodeLine): 'master' | 'replica' | 'unknown' {
  if (line.flags.includes('master')) return 'master';
  if (line.flags.includes('slave')) return 'replica';
  return 'unknown';
}

/**
 * Who owns each slot: every view's claims, the highest config epoch winning (as Redis itself
 * resolves conflicts), ties broken by the number of views that agree. Typed arrays keep this
 * linear: it runs on every diagnosis and every monitor poll.
 */
function slotOwners(views: NodeView[], nodes: Map<string, ModelNode>): { owner: Int32Array; ids: string[] } {
  const ids = [...nodes.keys()];
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const slotCount = SLOT_COUNT;
  // Most views make identical claims: count each distinct claim once, with its number of views.
  const claims = new Map<string, { candidate: number; epoch: number; from: number; to: number; views: number }>();
  for (const view of views) {
    for (const line of view.lines) {
      if (!line.flags.includes('master') || line.slots.length === 0) continue;
      const epoch = nodes.get(line.id)?.epoch ?? line.configEpoch;
      for (const [from, to] of line.slots) {
        const key = `${line.id}|${from}|${to}`;
        const claim = claims.get(key);
        if (claim) claim.views++;
        else claims.set(key, { candidate: indexOf.get(line.id)!, epoch, from, to, views: 1 });
      }
    }
  }
  const owner = new Int32Array(slotCount).fill(-1);
  const bestEpoch = new Float64Array(slotCount).fill(-1);
  const votes = new Int32Array(slotCount);
  // Slots where views name different owners with the same epoch: counted apart (rare).
  const contested = new Map<number, Map<number, number>>();
  for (const { candidate, epoch, from, to, views: count } of claims.values()) {
    for (let slot = from; slot <= to; slot++) {
      if (epoch > bestEpoch[slot]!) {
        owner[slot] = candidate;
        bestEpoch[slot] = epoch;
        votes[slot] = count;
        if (contested.size > 0) contested.delete(slot);
      } else if (epoch === bestEpoch[slot]) {
        if (owner[slot] === candidate) votes[slot]! += count;
        else {
          const tally = contested.get(slot) ?? new Map([[owner[slot]!, votes[slot]!]]);
          tally.set(candidate, (tally.get(candidate) ?? 0) + count);
          contested.set(slot, tally);
        }
      }
    }
  }
  for (const [slot, tally] of contested) {
    const current = owner[slot]!;
    tally.set(current, Math.max(tally.get(current) ?? 0, votes[slot]!));
    owner[slot] = [...tally.entries()].sort((x, y) => y[1] - x[1])[0]![0];
  }
  return { owner, ids };
}

export function inRanges(slot: number, ranges: readonly SlotRange[]): boolean {
  return ranges.some(([from, to]) => slot >= from && slot <= to);
}

function mostCommon<T>(items: T[], keyOf: (t: T) => string): T | undefined {
  const counts = new Map<string, { item: T; n: number }>();
  for (const item of items) {
    const key = keyOf(item);
    const entry = counts.get(key) ?? { item, n: 0 };
    entry.n++;
    counts.set(key, entry);
  }
  return [...counts.values()].sort((a, b) => b.n - a.n)[0]?.item;
}


// ---- helpers the rules share -------------------------------------------------------------

/** A label for a node in prose: `10.0.0.31:6379 (07c37dfe)`. */
export function label(node: Pick<ModelNode, 'addr' | 'id'>): string {
  return `${node.addr || 'no address'} (${node.id.slice(0, 8)})`;
}

export function evidenceLine(viewer: string, text: string): string {
  return `[${viewer}] ${text}`;
}

/** The raw line of `node` as one live view prints it (its own line first), for evidence. */
export function lineEvidence(node: ModelNode, max = 2): string[] {
  const out: string[] = [];
  if (node.own?.myself) out.push(evidenceLine(node.own.myself.addr, node.own.myself.raw));
  for (const seen of node.seenBy.slice(0, max)) out.push(evidenceLine(seen.viewer, seen.line.raw));
  return out;
}

export function probeEvidence(node: ModelNode): string[] {
  if (node.probe?.status === 'unreachable') return [evidenceLine(node.probe.addr, `redis-medic: ${node.probe.error ?? 'no answer'}`)];
  return [];
}

/** Keys `node` holds in an open slot, as counted during collection; undefined when not counted. */
export function openSlotKeys(node: Pick<ModelNode, 'own'> | undefined, slot: number): number | undefined {
  const count = node?.own?.probe.replies?.openSlotKeys?.[String(slot)];
  return typeof count === 'number' && Number.isFinite(count) ? count : undefined;
}

export function slotOwningMasters(model: ClusterModel): ModelNode[] {
  // node.slots comes from the owner table, so a non-empty one means the cluster routes slots to it.
  return [...model.nodes.values()].filter((n) => n.slots.length > 0 && n.role === 'master');
}

export function replicasOf(model: ClusterModel, masterId: string): ModelNode[] {
  return [...model.nodes.values()].filter((n) => n.role === 'replica' && n.masterId === masterId);
}

/** `cluster_state` lines of the nodes that answered, for evidence. */
export function stateEvidence(model: ClusterModel, state?: 'ok' | 'fail', max = 3): string[] {
  return model.views
    .filter((v) => v.info && (!state || v.info.state === state))
    .slice(0, max)
    .map((v) => evidenceLine(v.myself?.addr ?? v.probe.addr, `cluster_state:${v.info!.state} cluster_slots_ok:${v.info!.slotsOk} cluster_slots_fail:${v.info!.slotsFail}`));
}

export function requiresFullCoverage(model: ClusterModel): boolean | null {
  const values = model.views.map((v) => v.config['cluster-require-full-coverage']).filter(Boolean);
  if (values.length === 0) return null;
  return values.some((v) => v === 'yes');
}
