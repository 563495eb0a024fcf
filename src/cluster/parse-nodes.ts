import { ParseError } from '../errors';
import { isSlot, type SlotRange } from './slots';
import { KNOWN_FLAGS, type ClusterNodeLine, type NodeFlag, type NodeReplies } from './types';

const NODE_ID = /^[0-9a-f]{40}$/;

export function isNodeId(text: string): boolean {
  return NODE_ID.test(text);
}

/**
 * Parse a whole `CLUSTER NODES` reply. Blank lines are skipped; any other line that is not a
 * valid node line throws a ParseError naming its 1-based line number (`lineOffset` shifts it
 * when the text was cut out of a larger paste).
 *
 * With a `cache` (one per snapshot), a line that an earlier reply printed alike, but for its
 * ping-sent and pong-recv times, is not parsed again: the earlier line object is returned (only
 * the two times are checked to be numbers). Every other line is fully validated.
 */
export function parseClusterNodes(text: string, lineOffset = 0, cache?: NodeLineCache): ClusterNodeLine[] {
  return parseLines(text, lineOffset, cache, {}).lines;
}

interface ParsedLines {
  lines: ClusterNodeLine[];
  /** Where each line starts in the text (so a view's own text of a shared line can be quoted). */
  starts: number[];
  /** Indices of the lines parsed here, not found in the cache (each other line is one some earlier reply parsed). */
  firstSeen: number[];
  /** Indices of the lines of other nodes flagged `fail` or `fail?`. */
  failing: number[];
}

// The reply being parsed gathers its lines and their starts here, copied out at their exact length
// at the end: pushed one by one, each 1000-line reply's two arrays grew through a dozen ever larger
// copies (about 50 MB of garbage for the 1000 replies of a 1000-node cluster). Not re-entrant (the
// line parser never calls back here); cleared after each use so that no old reply's lines are kept.
const scratchLines: ClusterNodeLine[] = [];
const scratchStarts: number[] = [];

function parseLines(text: string, lineOffset: number, cache: NodeLineCache | undefined, source: object): ParsedLines {
  const nodes = scratchLines;
  const starts = scratchStarts;
  let count = 0;
  const firstSeen: number[] = [];
  const failing: number[] = [];
  let lineNumber = lineOffset;
  try {
    for (let start = 0; start <= text.length; ) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      lineNumber++;
      const known = cache?.find(text, start, end);
      if (known) {
        if (known.failing) failing.push(count);
        nodes[count] = known.line;
        starts[count++] = start;
      } else {
        const line = text.slice(start, end < text.length && end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end); // \r?\n
        if (line.trim() !== '') {
          const parsed = parseClusterNodesLine(line, lineNumber);
          const myself = parsed.flags.includes('myself');
          if (cache && !myself) cache.remember(parsed, text, start, end, source);
          if (!myself && isFailing(parsed)) failing.push(count);
          firstSeen.push(count);
          nodes[count] = parsed;
          starts[count++] = start;
        }
      }
      start = end + 1;
    }
    return { lines: nodes.slice(0, count), starts: starts.slice(0, count), firstSeen, failing };
  } finally {
    nodes.fill(undefined as unknown as ClusterNodeLine, 0, count);
  }
}

function isFailing(line: ClusterNodeLine): boolean {
  return line.flags.includes('fail') || line.flags.includes('fail?');
}

// Printable ASCII: the shared parts of a remembered line contain nothing else (no tab, no CR), so
// splitting them on single spaces is what splitting on whitespace would give.
const PLAIN = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;
const PLAIN_TAIL = /^(?: [\x21-\x7e]+)+$/;
const SPACE = 32;
const MAX_VARIANTS_PER_NODE = 8;

interface LineVariant {
  /** Text before ping-sent (id, address, flags, master), and from the space before config-epoch on. */
  head: string;
  tail: string;
  line: ClusterNodeLine;
  /** Flagged `fail` or `fail?`. */
  failing: boolean;
}

/**
 * The parsed lines of one snapshot, by node id and text: in a cluster of N nodes each node is
 * listed by N views that print it alike except for their own ping/pong times, so N^2 lines are
 * about 2N distinct ones. Lines are shared (frozen) objects: never change one.
 */
export class NodeLineCache {
  // Keyed by the first 7 hex digits of the node id (a small integer: no string to hash per line);
  // the variants compare the whole text, so two ids with the same prefix are told apart.
  private readonly byIdPrefix = new Map<number, LineVariant[]>();
  /** The replies (their parse's source token) whose lines were kept here. */
  readonly sources = new Set<object>();

  /**
   * A line printed before with the same text but for ping-sent and pong-recv, when both are
   * plain numbers here (anything else goes to the full parser, which names the problem).
   */
  find(text: string, start: number, end: number): LineVariant | undefined {
    if (end - start < 48) return undefined;
    const variants = this.byIdPrefix.get(idPrefix(text, start));
    if (!variants) return undefined;
    for (let v = 0; v < variants.length; v++) {
      const variant = variants[v]!;
      // The tail is fixed text (config-epoch on), so where pong-recv ends follows from the end.
      const headEnd = start + variant.head.length;
      const pongEnd = end - variant.tail.length;
      if (pongEnd <= headEnd + 1 || text.charCodeAt(headEnd) !== SPACE || text.charCodeAt(pongEnd) !== SPACE) continue;
      // A substring of a flat string is a view on it (no copy), and === on two strings is a native
      // memory compare: about 4x faster here than startsWith with a position, which V8 compares
      // character by character. The tail is short (a dozen characters or so): there endsWith,
      // which makes no substring, is faster (a million fewer objects for 1000 replies). The two
      // times are then checked digit by digit.
      if (text.substring(start, headEnd) === variant.head && text.endsWith(variant.tail, end) && twoCounts(text, headEnd + 1, pongEnd))
        return variant;
    }
    return undefined;
  }

  /** Keep a freshly parsed (valid) line for the next replies; it is frozen from now on. */
  remember(line: ClusterNodeLine, text: string, start: number, end: number, source: object): void {
    const layout = fieldLayout(text, start, end);
    if (!layout) return;
    const head = text.slice(start, layout.headEnd);
    const tail = text.slice(layout.pongEnd, end);
    if (!PLAIN.test(head) || !PLAIN_TAIL.test(tail)) return;
    const key = idPrefix(text, start);
    const variants = this.byIdPrefix.get(key) ?? [];
    // A node printed many different ways (a flapping or hostile cluster) is parsed every time.
    if (variants.length >= MAX_VARIANTS_PER_NODE) return;
    variants.push({ head, tail, line: freezeLine(line), failing: isFailing(line) });
    this.byIdPrefix.set(key, variants);
    this.sources.add(source);
  }
}

/** The first 7 characters as hex digits (lower case, as Redis prints ids), or -1. */
function idPrefix(text: string, start: number): number {
  let value = 0;
  for (let i = start; i < start + 7; i++) {
    const c = text.charCodeAt(i);
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (digit === -1) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/**
 * True when text[from, to) is two runs of 1 to 15 digits (safe integers, as parseNonNegative
 * wants) with one space between: the ping-sent and pong-recv of a line found in the cache.
 */
function twoCounts(text: string, from: number, to: number): boolean {
  let digits = 0;
  let spaces = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 15) return false;
    } else if (c === SPACE && digits > 0 && spaces === 0) {
      spaces = 1;
      digits = 0;
    } else return false;
  }
  return spaces === 1 && digits > 0;
}

/**
 * Where the first six fields end, when they are separated by single spaces and none is empty
 * (then they are exactly what splitting on whitespace gives): undefined otherwise.
 */
function fieldLayout(text: string, start: number, end: number): { headEnd: number; pongEnd: number } | undefined {
  if (text.charCodeAt(start) === SPACE || text.charCodeAt(start + 40) !== SPACE) return undefined;
  let previous = start + 40;
  const ends: number[] = [];
  for (let field = 0; field < 5; field++) {
    const next = text.indexOf(' ', previous + 1);
    if (next === -1 || next >= end || next === previous + 1) return undefined;
    ends.push(next);
    previous = next;
  }
  // ends: address, flags, master, ping-sent, pong-recv
  return { headEnd: ends[2]!, pongEnd: ends[4]! };
}

function freezeLine(line: ClusterNodeLine): ClusterNodeLine {
  Object.freeze(line.flags);
  for (const range of line.slots) Object.freeze(range);
  Object.freeze(line.slots);
  for (const open of [...line.migrating, ...line.importing]) Object.freeze(open);
  Object.freeze(line.migrating);
  Object.freeze(line.importing);
  return Object.freeze(line);
}

/** One node's `CLUSTER NODES` reply, parsed once. */
export interface ParsedClusterNodes {
  /** Empty when the reply did not parse. */
  lines: ClusterNodeLine[];
  /** The line flagged `myself`: who answered. */
  myself?: ClusterNodeLine;
  error?: ParseError;
  /** The exact text this reply printed for lines[index] (a shared line's `raw` is another reply's). */
  rawLine(index: number): string;
  /**
   * For passes over every line of many replies: the indices of the lines first printed by this
   * reply (the others are shared line objects that `sharedFrom`'s `sources` parsed first), and of
   * other nodes' lines flagged `fail` or `fail?`.
   */
  firstSeen: number[];
  failing: number[];
  /** The snapshot's cache the shared lines came from (absent when parsed without one). */
  sharedFrom?: NodeLineCache;
  /** This reply's token in that cache's `sources`. */
  source: object;
}

const parsedReplies = new WeakMap<NodeReplies, ParsedClusterNodes & { text: string }>();

/**
 * The parsed `CLUSTER NODES` of a probe's replies, parsed on first use and remembered with the
 * replies: collection, the model, the rules, the planner and the monitor all read this one
 * result. Pass the snapshot's cache so lines printed alike by many nodes are shared.
 */
export function parsedClusterNodes(replies: NodeReplies, cache?: NodeLineCache): ParsedClusterNodes {
  const known = parsedReplies.get(replies);
  if (known && known.text === replies.clusterNodes) return known;
  const text = replies.clusterNodes;
  let parsed: ParsedClusterNodes & { text: string };
  const source = {};
  try {
    const { lines, starts, firstSeen, failing } = parseLines(text, 0, cache, source);
    // Shared lines are never `myself` (the cache does not keep it): look among this reply's own.
    const mine = firstSeen.find((index) => lines[index]!.flags.includes('myself'));
    const myself = mine === undefined ? undefined : lines[mine];
    const rawLine = (index: number): string => {
      const start = starts[index];
      if (start === undefined) return '';
      const newline = text.indexOf('\n', start);
      return text.slice(start, newline === -1 ? text.length : newline).trim();
    };
    parsed = { text, lines, ...(myself ? { myself } : {}), rawLine, firstSeen, failing, ...(cache ? { sharedFrom: cache } : {}), source };
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    parsed = { text, lines: [], error: err, rawLine: () => '', firstSeen: [], failing: [], source };
  }
  parsedReplies.set(replies, parsed);
  return parsed;
}

/**
 * True when the parses' `firstSeen` lines are, together, every distinct line object of these
 * parses: every reply that gave a line to a cache they share is one of them (a reply that failed
 * half-way, or one left out, may have given lines that a later reply shares).
 */
export function firstSeenCoversAll(parses: readonly ParsedClusterNodes[]): boolean {
  const sources = new Set(parses.filter((p) => !p.error).map((p) => p.source));
  const caches = new Set<NodeLineCache>();
  for (const p of parses) if (p.sharedFrom) caches.add(p.sharedFrom);
  for (const cache of caches) for (const source of cache.sources) if (!sources.has(source)) return false;
  return true;
}

export function parseClusterNodesLine(rawLine: string, lineNumber = 1): ClusterNodeLine {
  const raw = rawLine.trim();
  const fields = raw.split(/\s+/);
  const fail = (why: string): never => {
    throw new ParseError(why, lineNumber, rawLine);
  };
  if (fields.length < 8) fail(`a CLUSTER NODES line has at least 8 fields, this one has ${fields.length}`);
  const [id, address, flagText, master, pingSent, pongRecv, epoch, link, ...slotFields] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    ...string[],
  ];
  if (!NODE_ID.test(id)) fail(`node id must be 40 hex characters, got "${id}"`);

  const { host, port, busPort, hostname } = parseAddress(address, fail);
  const flags = parseFlags(flagText, fail);
  if (master !== '-' && !NODE_ID.test(master)) fail(`master id must be "-" or 40 hex characters, got "${master}"`);
  if (link !== 'connected' && link !== 'disconnected') fail(`link state must be connected or disconnected, got "${link}"`);

  const line: ClusterNodeLine = {
    id,
    host,
    port,
    busPort,
    ...(hostname ? { hostname } : {}),
    addr: host && port ? `${host}:${port}` : '',
    flags,
    masterId: master === '-' ? null : master,
    pingSent: parseNonNegative(pingSent, 'ping-sent', fail),
    pongRecv: parseNonNegative(pongRecv, 'pong-recv', fail),
    configEpoch: parseNonNegative(epoch, 'config-epoch', fail),
    linkState: link as ClusterNodeLine['linkState'],
    slots: [],
    migrating: [],
    importing: [],
    raw,
  };
  for (const slotField of slotFields) parseSlotField(slotField, line, fail);
  return line;
}

function parseAddress(address: string, fail: (why: string) => never): { host: string; port: number; busPort: number; hostname?: string } {
  // ip:port@cport[,hostname[,aux=value...]]; IPv6 addresses contain colons, so split on the last one.
  const [endpoint = '', hostname, ...aux] = address.split(',');
  void aux; // Redis 7.2+ appends `key=value` auxiliary fields; nothing here depends on them.
  const at = endpoint.indexOf('@');
  const hostPort = at === -1 ? endpoint : endpoint.slice(0, at);
  const colon = hostPort.lastIndexOf(':');
  if (colon === -1) fail(`address must be ip:port@cport, got "${address}"`);
  const host = hostPort.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(hostPort.slice(colon + 1));
  // `:0` (a node that has not learnt its address yet, older Redis) has no bus port either.
  const busPort = at === -1 ? (port ? port + 10000 : 0) : Number(endpoint.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port in address "${address}"`);
  if (!Number.isInteger(busPort) || busPort < 0 || busPort > 65535) fail(`bad bus port in address "${address}"`);
  return { host, port, busPort, ...(hostname && !hostname.includes('=') ? { hostname } : {}) };
}

function parseFlags(text: string, fail: (why: string) => never): NodeFlag[] {
  const flags = text.split(',');
  for (const flag of flags) {
    if (!KNOWN_FLAGS.includes(flag as NodeFlag)) fail(`unknown flag "${flag}"`);
  }
  return flags as NodeFlag[];
}

function parseNonNegative(text: string, what: string, fail: (why: string) => never): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) fail(`${what} must be a non-negative integer, got "${text}"`);
  return n;
}

function parseSlotField(field: string, line: ClusterNodeLine, fail: (why: string) => never): void {
  const open = /^\[(\d+)-([<>])-([0-9a-f]{40})\]$/.exec(field);
  if (open) {
    const slot = Number(open[1]);
    if (!isSlot(slot)) fail(`slot ${slot} is out of range 0-16383`);
    if (open[2] === '>') line.migrating.push({ slot, to: open[3]! });
    else line.importing.push({ slot, from: open[3]! });
    return;
  }
  const range = /^(\d+)(?:-(\d+))?$/.exec(field);
  if (!range) fail(`bad slot field "${field}"`);
  const from = Number(range[1]);
  const to = range[2] === undefined ? from : Number(range[2]);
  if (!isSlot(from) || !isSlot(to) || to < from) fail(`bad slot range "${field}" (slots are 0-16383)`);
  const slots: SlotRange = [from, to];
  line.slots.push(slots);
}

export function hasFlag(line: Pick<ClusterNodeLine, 'flags'>, flag: NodeFlag): boolean {
  return line.flags.includes(flag);
}

export function isMasterLine(line: ClusterNodeLine): boolean {
  return hasFlag(line, 'master');
}

export function isReplicaLine(line: ClusterNodeLine): boolean {
  return hasFlag(line, 'slave');
}
