import { comparableAddr, formatHostPort, parseHostPort, type HostPort } from '../cluster/address';
import { parseClusterInfo, parseReplicationInfo } from '../cluster/parse-info';
import { NodeLineCache, parsedClusterNodes } from '../cluster/parse-nodes';
import { SLOT_COUNT, type SlotRange } from '../cluster/slots';
import type { ClusterInfo, ClusterNodeLine, ClusterSnapshot, NodeProbe } from '../cluster/types';
import { errorMessage } from '../errors';
import { runSteps, runStepsInTurns } from '../turns';
import { splitImpostors, type Impostor, type Unconfirmed } from './identity';
import type { NodeIdentity } from './types';

/** One node's own answer: how it sees the cluster. */
export interface NodeView {
  probe: NodeProbe;
  /** Who answered: from its `myself` line. */
  myself?: ClusterNodeLine;
  /**
   * Its lines, in its order. A line that several views print alike (but for ping/pong times) is
   * one shared, frozen object whose `raw` is the first printer's: quote a view's own text of a
   * line with rawLineIn(view, line).
   */
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

/** How one view lists a node: quote it with seenRaw (the view's own text of the line). */
export interface Sighting {
  viewer: string;
  line: ClusterNodeLine;
  view: NodeView;
}

/** Everything known about one node id, merged over all views. */
export interface ModelNode extends NodeIdentity {
  /** Its own view, when it answered. */
  own?: NodeView;
  probe?: NodeProbe;
  /**
   * How each other view lists it, in view order. Built on first use: a diagnosis that does not
   * look (most nodes of a healthy cluster) never makes the N^2 sightings of a big cluster.
   */
  seenBy: Sighting[];
  reachable: boolean | null;
  /** fail: some view says `fail`; pfail: some view says `fail?` and none `fail`. */
  flagged: 'fail' | 'pfail' | null;
  health: 'up' | 'suspect' | 'down' | 'unknown';
  /** The slots the cluster routes to it (consensus of views), and the ones it claims itself. */
  slots: SlotRange[];
  ownSlots: SlotRange[] | null;
  epoch: number;
  /**
   * Set when it answers at `addr` but announces this older address, where its peers cannot
   * reach it (a restart at a new IP with nodes.conf keeping the old one).
   */
  announcedAddr?: string;
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
  /** Answers only one node vouches for (one node's word is data): not used as views. */
  unconfirmed: Array<Unconfirmed<NodeView>>;
  /** The views' lines without repeats, for rules that look at every line of every view. */
  lineTable: LineTable;
}

/**
 * The distinct line objects of all views in the order they first appear (views in order, each
 * top to bottom), how often each appears, and which of them each view lists. In a big healthy
 * cluster N views print N lines that are about 2N distinct ones: a rule that aggregates over the
 * table does per-line work 2N times and only cheap integer work N^2 times.
 */
export interface LineTable {
  lines: ClusterNodeLine[];
  counts: number[];
  /** Where each line first appears: its view, and its index in that view's lines. */
  firstView: NodeView[];
  firstIndex: number[];
  /** Per view, the table index of each of its lines (same order as view.lines). */
  ofView: Map<NodeView, Int32Array>;
}

/** Build-time bookkeeping of one node id: its distinct lines (table indices) and its sightings. */
interface NodeLines {
  node: ModelNode;
  distinct: number[];
  /** Once a node has many distinct lines (no sharing, or a flapping node), a map finds them. */
  byLine?: Map<ClusterNodeLine, number>;
  /** Its sightings by other views, in view order: a chain through the table's Sightings (-1: none). */
  firstSighting: number;
  lastSighting: number;
  sightingCount: number;
}

/**
 * Every sighting of every node (a line of a view, not the node's own), in typed arrays sized once
 * for all the views' lines and chained per node: a million sightings pushed one by one onto a
 * thousand per-node arrays left about 50 MB of outgrown copies behind (1000 nodes).
 */
interface SightingChains {
  /** The table index of the line. */
  line: Int32Array;
  /** The index of the view in `views`. */
  view: Int32Array;
  /** The next sighting of the same node, or -1. */
  next: Int32Array;
  lines: ClusterNodeLine[];
  views: NodeView[];
}

const MAX_SCANNED_VARIANTS = 8;

export function buildModel(snapshot: ClusterSnapshot): ClusterModel {
  return runSteps(modelSteps(snapshot));
}

/**
 * The same model, built in slices of at most about `sliceMs` of work with a turn of the event
 * loop between them: a process that also acks Slack (the monitor, the workers) is not blocked for
 * the whole of a big cluster's model (1000 nodes: a million lines).
 */
export function buildModelInTurns(snapshot: ClusterSnapshot, sliceMs = 20): Promise<ClusterModel> {
  return runStepsInTurns(modelSteps(snapshot), sliceMs);
}

/** Builds the model, yielding between pieces of work (a view, a batch of nodes) where it may pause. */
function* modelSteps(snapshot: ClusterSnapshot): Generator<void, ClusterModel, void> {
  // Replies parsed during collection are reused as they are; others (fixtures, pastes) are parsed
  // here, sharing the lines that many views print alike.
  const lineCache = new NodeLineCache();
  const answered: NodeView[] = [];
  for (const probe of snapshot.probes) {
    if (probe.status !== 'ok' || !probe.replies) continue;
    answered.push(toView(probe, lineCache));
    yield;
  }
  // The table of every answer's lines tells impostors apart; without one (the usual case) it is
  // the model's table as it is, else it is made again from the trusted views.
  let built = yield* tableOf(answered);
  // Trust starts at the configured seeds that answered (every view of a paste, or when no seed
  // answered under the name it was given).
  const seedKeys = new Set(snapshot.seeds.map(comparableAddr));
  const anySeed = !snapshot.offline && answered.some((v) => seedKeys.has(comparableAddr(v.probe.addr)));
  const {
    trusted: views,
    impostors,
    unconfirmed,
  } = splitImpostors(answered, built, (v) => !anySeed || seedKeys.has(comparableAddr(v.probe.addr)));
  yield;
  if (impostors.length > 0 || unconfirmed.length > 0) built = yield* tableOf(views);
  const { table, nodes, byId, isMyself } = built;
  const probeByAddr = new Map<string, NodeProbe>();
  const probePorts = new Set<number>();
  for (const probe of snapshot.probes) {
    probeByAddr.set(comparableAddr(probe.addr), probe);
    const at = hostPortOf(probe.addr);
    if (at) probePorts.add(at.port);
  }

  // A probe that answered belongs to the id in its own myself line: an old id listed at the
  // same address (a node restarted with an empty nodes.conf) must not borrow its answer.
  const answeredBy = new Map(views.map((v) => [v.probe, v.myself?.id]));
  let merged = 0;
  for (const entry of byId.values()) {
    if (++merged % 256 === 0) yield;
    const node = entry.node;
    // A listed address can only match a probe on the same port: most nodes skip the normalising.
    if (!node.probe && node.addr && probePorts.has(node.port)) {
      const byAddr = probeByAddr.get(comparableAddr(node.addr));
      if (byAddr && (byAddr.status !== 'ok' || answeredBy.get(byAddr) === node.id)) node.probe = byAddr;
    }
    const seenLines: ClusterNodeLine[] = [];
    const seenCounts: number[] = [];
    for (const index of entry.distinct) {
      if (isMyself[index]) continue;
      seenLines.push(table.lines[index]!);
      seenCounts.push(table.counts[index]!);
    }
    mergeNode(node, seenLines, seenCounts);
    (node as LazyNode).sightings(built.sightings, entry.firstSighting, entry.sightingCount);
  }

  yield;
  const slotRuns = runsOf(slotOwners(table, nodes), nodes);
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
  return { snapshot, views, nodes, slotRuns, owner, unreachable, impostors, unconfirmed, lineTable: table };
}

interface BuiltTable {
  table: LineTable;
  nodes: Map<string, ModelNode>;
  byId: Map<string, NodeLines>;
  isMyself: boolean[];
  /** Per distinct line: the index of the view it first appears in, and whether another view lists it too. */
  lines: ClusterNodeLine[];
  firstViewIndex: number[];
  inOtherViews: boolean[];
  sightings: SightingChains;
}

/** One pass over every line of every view (yielding after each view): the distinct lines, and each node id's lines and sightings. */
function* tableOf(views: NodeView[]): Generator<void, BuiltTable, void> {
  const nodes = new Map<string, ModelNode>();
  const table: LineTable = { lines: [], counts: [], firstView: [], firstIndex: [], ofView: new Map() };
  const isMyself: boolean[] = [];
  let lineCount = 0;
  for (const view of views) lineCount += view.lines.length;
  const sightings: SightingChains = {
    line: new Int32Array(lineCount),
    view: new Int32Array(lineCount),
    next: new Int32Array(lineCount),
    lines: table.lines,
    views,
  };
  let sightingCount = 0;
  const firstViewIndex: number[] = [];
  const lastViewIndex: number[] = [];
  const inOtherViews: boolean[] = [];
  const byId = new Map<string, NodeLines>();
  for (let v = 0; v < views.length; v++) {
    const view = views[v]!;
    const indices = new Int32Array(view.lines.length);
    table.ofView.set(view, indices);
    for (let i = 0; i < view.lines.length; i++) {
      const line = view.lines[i]!;
      let entry = byId.get(line.id);
      if (!entry) {
        const node = newNode(line);
        nodes.set(line.id, node);
        entry = { node, distinct: [], firstSighting: -1, lastSighting: -1, sightingCount: 0 };
        byId.set(line.id, entry);
      }
      let index = indexOfLine(entry, table, line);
      if (index === -1) {
        index = table.lines.length;
        table.lines.push(line);
        table.counts.push(0);
        table.firstView.push(view);
        table.firstIndex.push(i);
        isMyself.push(line.flags.includes('myself'));
        firstViewIndex.push(v);
        lastViewIndex.push(v);
        inOtherViews.push(false);
        addDistinct(entry, table, index);
      } else if (lastViewIndex[index] !== v) {
        lastViewIndex[index] = v;
        inOtherViews[index] = true;
      }
      table.counts[index]!++;
      indices[i] = index;
      if (isMyself[index]) {
        entry.node.own = view;
        entry.node.probe = view.probe;
      } else {
        const k = sightingCount++;
        sightings.line[k] = index;
        sightings.view[k] = v;
        sightings.next[k] = -1;
        if (entry.lastSighting === -1) entry.firstSighting = k;
        else sightings.next[entry.lastSighting] = k;
        entry.lastSighting = k;
        entry.sightingCount++;
      }
    }
    yield;
  }
  return { table, nodes, byId, isMyself, lines: table.lines, firstViewIndex, inOtherViews, sightings };
}

function indexOfLine(entry: NodeLines, table: LineTable, line: ClusterNodeLine): number {
  if (entry.byLine) return entry.byLine.get(line) ?? -1;
  const distinct = entry.distinct;
  for (let k = 0; k < distinct.length; k++) if (table.lines[distinct[k]!] === line) return distinct[k]!;
  return -1;
}

function addDistinct(entry: NodeLines, table: LineTable, index: number): void {
  entry.distinct.push(index);
  if (entry.byLine) entry.byLine.set(table.lines[index]!, index);
  else if (entry.distinct.length > MAX_SCANNED_VARIANTS) entry.byLine = new Map(entry.distinct.map((i) => [table.lines[i]!, i]));
}

/**
 * A model node: a plain record whose `seenBy` is made on first read (and can be set like any
 * other field). The getter lives on the class, not on each node, so every node keeps one shape.
 */
class LazyNode implements ModelNode {
  declare own?: NodeView;
  declare probe?: NodeProbe;
  declare announcedAddr?: string;
  role: ModelNode['role'] = 'unknown';
  masterId: string | null = null;
  reachable: boolean | null = null;
  flagged: ModelNode['flagged'] = null;
  health: ModelNode['health'] = 'unknown';
  slots: SlotRange[] = [];
  ownSlots: SlotRange[] | null = null;
  epoch = 0;
  #seenBy: Sighting[] | undefined = undefined;
  /** Where its sightings are chained (in view order), until seenBy is made. */
  #pending: { chains: SightingChains; first: number; count: number; lines?: ClusterNodeLine[] } | undefined = undefined;

  constructor(line: ClusterNodeLine) {
    this.id = line.id;
    this.addr = line.addr;
    this.host = line.host;
    this.port = line.port;
    this.busPort = line.busPort;
  }

  id: string;
  addr: string;
  host: string;
  port: number;
  busPort: number;

  sightings(chains: SightingChains, first: number, count: number): void {
    this.#pending = { chains, first, count };
    this.#seenBy = undefined;
  }

  get seenBy(): Sighting[] {
    if (this.#seenBy) return this.#seenBy;
    this.#seenBy = this.#pending ? sightingsOf(this.#pending, Number.POSITIVE_INFINITY) : [];
    this.#pending = undefined;
    return this.#seenBy;
  }

  set seenBy(value: Sighting[]) {
    this.#seenBy = value;
    this.#pending = undefined;
  }

  firstSightings(max: number): Sighting[] {
    const pending = this.#pending;
    if (!pending) return this.seenBy.slice(0, max);
    return sightingsOf(pending, max);
  }

  /** seenBy's lines, without making the sightings when they are not made yet. */
  seenLines(): readonly ClusterNodeLine[] {
    if (this.#seenBy) return this.#seenBy.map((s) => s.line);
    const pending = this.#pending;
    if (!pending) return [];
    if (!pending.lines) {
      const { chains } = pending;
      const lines = new Array<ClusterNodeLine>(pending.count);
      for (let k = pending.first, i = 0; k !== -1; k = chains.next[k]!, i++) lines[i] = chains.lines[chains.line[k]!]!;
      pending.lines = lines;
    }
    return pending.lines;
  }
}

/** The first `max` sightings of a chain, in view order. */
function sightingsOf({ chains, first, count }: { chains: SightingChains; first: number; count: number }, max: number): Sighting[] {
  const out = new Array<Sighting>(Math.min(count, Math.max(0, Math.trunc(max) || 0)));
  for (let k = first, i = 0; i < out.length; k = chains.next[k]!, i++) {
    const view = chains.views[chains.view[k]!]!;
    out[i] = { viewer: view.myself?.addr || view.probe.addr, line: chains.lines[chains.line[k]!]!, view };
  }
  return out;
}

/** node.seenBy.slice(0, max), without making the others. */
export function firstSightings(node: ModelNode, max: number): Sighting[] {
  return node instanceof LazyNode ? node.firstSightings(max) : node.seenBy.slice(0, max);
}

/** The lines other views list `node` with, in view order (seenBy's lines): for rules that need only the lines. */
export function seenLines(node: ModelNode): readonly ClusterNodeLine[] {
  return node instanceof LazyNode ? node.seenLines() : node.seenBy.map((s) => s.line);
}

/** Compress the owner table into runs, split further where the owner itself dropped slots. */
function runsOf(owners: { owner: Int32Array; ids: string[] }, nodes: Map<string, ModelNode>): SlotRun[] {
  const runs: SlotRun[] = [];
  const slotCount = SLOT_COUNT; // a local: the imported binding is a getter call under tsx
  let start = 0;
  for (let slot = 1; slot <= slotCount; slot++) {
    if (slot < slotCount && owners.owner[slot] === owners.owner[start]) continue;
    const index = owners.owner[start]!;
    const node = index === -1 ? null : (nodes.get(owners.ids[index]!) ?? null);
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

const rawLines = new WeakMap<NodeView, (index: number) => string>();

function toView(probe: NodeProbe, lineCache: NodeLineCache): NodeView {
  const replies = probe.replies!;
  const view: NodeView = { probe, lines: [], config: replies.config ?? {}, replication: {} };
  const parsed = parsedClusterNodes(replies, lineCache);
  rawLines.set(view, parsed.rawLine);
  if (parsed.error) {
    view.parseError = errorMessage(parsed.error);
  } else {
    view.lines = parsed.lines;
    if (parsed.myself) view.myself = parsed.myself;
    const reachedAt = view.myself && !view.myself.addr ? hostPortOf(probe.addr) : undefined;
    if (view.myself && reachedAt) {
      // A node that never learnt its own IP prints `:0` or `:port`; we know where we reached it.
      // A paste without a prompt gives only a label (`pasted-view-1`): that is no address, and
      // the node stays without one rather than becoming a target named after the label.
      const original = view.myself;
      view.myself = {
        ...original,
        addr: formatHostPort(reachedAt),
        host: reachedAt.host,
        port: reachedAt.port,
        ...(original.busPort ? {} : { busPort: reachedAt.port + 10000 }),
      };
      view.lines = view.lines.map((l) => (l === original ? view.myself! : l));
    }
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
  return new LazyNode(line);
}

/**
 * Merge what every view says about one node. `seen` holds the distinct lines other views list
 * it with (in the order they first appear) and `counts` how many views print each.
 */
function mergeNode(node: ModelNode, seen: ClusterNodeLine[], counts: number[]): void {
  const own = node.own?.myself;
  // Its own line is the truth about itself; otherwise the majority of other views.
  const reference = own ?? mostCommonLine(seen, counts, (l) => `${roleOf(l)}|${l.masterId}|${l.addr}`);
  if (reference) {
    node.role = roleOf(reference);
    node.masterId = reference.masterId;
    let epoch = reference.configEpoch;
    for (const line of seen) if (line.configEpoch > epoch) epoch = line.configEpoch;
    node.epoch = epoch;
    // A node that does not know its own address (`:0`) may still be listed at one by the others.
    const located = reference.addr ? reference : mostCommonLine(...withCounts(seen, counts, (l) => Boolean(l.addr)), (l) => l.addr);
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

  node.flagged = seen.some((l) => l.flags.includes('fail')) ? 'fail' : seen.some((l) => l.flags.includes('fail?')) ? 'pfail' : null;
  if (node.reachable === false || (node.flagged === 'fail' && node.reachable !== true)) node.health = 'down';
  else if (node.reachable === true) node.health = node.flagged ? 'suspect' : 'up';
  else if (node.flagged === 'pfail') node.health = 'suspect';
  else if (node.flagged === 'fail') node.health = 'down';
  else node.health = seen.some((l) => l.flags.includes('handshake') || l.flags.includes('noaddr')) ? 'unknown' : 'up';
  // Offline, a node only listed by one view is "up" only as far as that view can tell.

  // It answers where we asked, yet announces (and is listed at) another address that its peers
  // cannot reach: it moved (a pod rescheduled with a new IP, nodes.conf keeping the old one).
  // Where it answers is where commands must go; the old address stays as what it announces.
  const reachedAt = node.own?.probe.addr;
  if (reachedAt && own?.addr && node.flagged && comparableAddr(reachedAt) !== comparableAddr(own.addr)) {
    const where = hostPortOf(reachedAt);
    if (where) {
      node.announcedAddr = own.addr;
      node.addr = formatHostPort(where);
      node.host = where.host;
      node.port = where.port;
    }
  }
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
function slotOwners(table: LineTable, nodes: Map<string, ModelNode>): { owner: Int32Array; ids: string[] } {
  const ids = [...nodes.keys()];
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const slotCount = SLOT_COUNT;
  // Most views make identical claims: count each distinct claim once, with its number of views
  // (the table holds each distinct line once, in the order the lines first appear).
  const claims = new Map<string, { candidate: number; epoch: number; from: number; to: number; views: number }>();
  table.lines.forEach((line, index) => {
    if (line.slots.length === 0 || !line.flags.includes('master')) return;
    const count = table.counts[index]!;
    const epoch = nodes.get(line.id)?.epoch ?? line.configEpoch;
    for (const [from, to] of line.slots) {
      const key = `${line.id}|${from}|${to}`;
      const claim = claims.get(key);
      if (claim) claim.views += count;
      else claims.set(key, { candidate: indexOf.get(line.id)!, epoch, from, to, views: count });
    }
  });
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

/** The lines (with their counts) that pass `keep`. */
function withCounts(lines: ClusterNodeLine[], counts: number[], keep: (line: ClusterNodeLine) => boolean): [ClusterNodeLine[], number[]] {
  const kept: ClusterNodeLine[] = [];
  const keptCounts: number[] = [];
  lines.forEach((line, i) => {
    if (!keep(line)) return;
    kept.push(line);
    keptCounts.push(counts[i]!);
  });
  return [kept, keptCounts];
}

/** The line most views agree on (by `keyOf`), the first seen winning a tie. */
function mostCommonLine(lines: ClusterNodeLine[], counts: number[], keyOf: (line: ClusterNodeLine) => string): ClusterNodeLine | undefined {
  if (lines.length <= 1) return lines[0];
  const tally = new Map<string, { item: ClusterNodeLine; n: number }>();
  lines.forEach((line, i) => {
    const key = keyOf(line);
    const entry = tally.get(key);
    if (entry) entry.n += counts[i]!;
    else tally.set(key, { item: line, n: counts[i]! });
  });
  return [...tally.values()].sort((a, b) => b.n - a.n)[0]?.item;
}

// ---- helpers the rules share -------------------------------------------------------------

/** A label for a node in prose: `10.0.0.31:6379 (07c37dfe)`. */
export function label(node: Pick<ModelNode, 'addr' | 'id'>): string {
  return `${node.addr || 'no address'} (${node.id.slice(0, 8)})`;
}

export function evidenceLine(viewer: string, text: string): string {
  return `[${viewer}] ${text}`;
}

/** The exact text `view` printed for `line` (a line shared by many views carries the first one's `raw`). */
export function rawLineIn(view: NodeView, line: ClusterNodeLine): string {
  if (line === view.myself) return line.raw;
  return rawLineAt(view, view.lines.indexOf(line)) || line.raw;
}

/** The exact text of view.lines[index] as that view printed it ('' when there is none). */
export function rawLineAt(view: NodeView, index: number): string {
  const line = view.lines[index];
  if (!line) return '';
  return (line === view.myself ? line.raw : rawLines.get(view)?.(index)) || line.raw;
}

/** The text of the line a sighting saw, as that view printed it. */
export function seenRaw(seen: Sighting): string {
  return rawLineIn(seen.view, seen.line);
}

/** The raw line of `node` as one live view prints it (its own line first), for evidence. */
export function lineEvidence(node: ModelNode, max = 2): string[] {
  const out: string[] = [];
  if (node.own?.myself) out.push(evidenceLine(node.own.myself.addr, node.own.myself.raw));
  for (const seen of firstSightings(node, max)) out.push(evidenceLine(seen.viewer, seenRaw(seen)));
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
  // Found once per model (rules ask for them many times); each caller gets its own array.
  let masters = owningMasters.get(model);
  if (!masters) {
    masters = [...model.nodes.values()].filter((n) => n.slots.length > 0 && n.role === 'master');
    owningMasters.set(model, masters);
  }
  return masters.slice();
}

const owningMasters = new WeakMap<ClusterModel, ModelNode[]>();

/** The replicas the model lists for a master (shared by every caller: read, never change). */
export function replicasOf(model: ClusterModel, masterId: string): readonly ModelNode[] {
  // Indexed once per model: rules ask for every master's replicas.
  let byMaster = replicasByMaster.get(model);
  if (!byMaster) {
    byMaster = new Map();
    for (const n of model.nodes.values()) {
      if (n.role !== 'replica' || n.masterId === null) continue;
      const list = byMaster.get(n.masterId);
      if (list) list.push(n);
      else byMaster.set(n.masterId, [n]);
    }
    replicasByMaster.set(model, byMaster);
  }
  return byMaster.get(masterId) ?? NO_NODES;
}

const NO_NODES: readonly ModelNode[] = Object.freeze([]);

const replicasByMaster = new WeakMap<ClusterModel, Map<string, ModelNode[]>>();

/** `cluster_state` lines of the nodes that answered, for evidence. */
export function stateEvidence(model: ClusterModel, state?: 'ok' | 'fail', max = 3): string[] {
  return model.views
    .filter((v) => v.info && (!state || v.info.state === state))
    .slice(0, max)
    .map((v) =>
      evidenceLine(
        v.myself?.addr ?? v.probe.addr,
        `cluster_state:${v.info!.state} cluster_slots_ok:${v.info!.slotsOk} cluster_slots_fail:${v.info!.slotsFail}`,
      ),
    );
}

export function requiresFullCoverage(model: ClusterModel): boolean | null {
  const values = model.views.map((v) => v.config['cluster-require-full-coverage']).filter(Boolean);
  if (values.length === 0) return null;
  return values.some((v) => v === 'yes');
}
