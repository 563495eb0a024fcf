import { ParseError } from '../errors';
import { isSlot, type SlotRange } from './slots';
import { KNOWN_FLAGS, type ClusterNodeLine, type NodeFlag } from './types';

const NODE_ID = /^[0-9a-f]{40}$/;

export function isNodeId(text: string): boolean {
  return NODE_ID.test(text);
}

/**
 * Parse a whole `CLUSTER NODES` reply. Blank lines are skipped; any other line that is not a
 * valid node line throws a ParseError naming its 1-based line number (`lineOffset` shifts it
 * when the text was cut out of a larger paste).
 */
export function parseClusterNodes(text: string, lineOffset = 0): ClusterNodeLine[] {
  const nodes: ClusterNodeLine[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    nodes.push(parseClusterNodesLine(line, index + 1 + lineOffset));
  });
  return nodes;
}

export function parseClusterNodesLine(rawLine: string, lineNumber = 1): ClusterNodeLine {
  const raw = rawLine.trim();
  const fields = raw.split(/\s+/);
  const fail = (why: string): never => {
    throw new ParseError(why, lineNumber, rawLine);
  };
  if (fields.length < 8) fail(`a CLUSTER NODES line has at least 8 fields, this one has ${fields.length}`);
  const [id, address, flagText, master, pingSent, pongRecv, epoch, link, ...slotFields] = fields as [
    string, string, string, string, string, string, string, string, ...string[]
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

function parseAddress(
  address: string,
  fail: (why: string) => never,
): { host: string; port: number; busPort: number; hostname?: string } {
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
  if (!range) return fail(`bad slot field "${field}"`);
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
