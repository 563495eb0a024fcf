import { ParseError } from '../errors';
import { formatHostPort, parseHostPort } from './address';
import { isNodeId, parseClusterNodesLine } from './parse-nodes';
import type { ClusterSnapshot, NodeProbe } from './types';

// A redis-cli prompt (`127.0.0.1:7000> cluster nodes`), a shell prompt running redis-cli, or
// a line of redis-cli chatter that carries no data.
const PROMPT = /^(\S*:\d+(\[\d+\])?>|[$#]\s|redis-cli\b)/;
const NOISE = /^(\(error\)|\(nil\)|\(integer\)|OK$|Warning:|Could not connect)/i;
// Keys may carry dashes: after failover votes CLUSTER INFO prints `cluster_stats_messages_auth-ack_sent:2`.
const INFO_LINE = /^[a-z][a-z0-9_-]*:\S*$/;

interface PastedView {
  nodeLines: string[];
  infoLines: string[];
  otherInfoLines: string[];
  /** The address the prompt above it names (`10.0.0.5:6379> cluster nodes`, `redis-cli -h 10.0.0.5 -p 6379`). */
  promptAddr?: string;
}

/**
 * Turn a paste of `CLUSTER NODES` (and optionally `CLUSTER INFO` / `INFO replication`) output,
 * possibly with redis-cli prompts and `(error)` lines mixed in, into an offline snapshot: one
 * view per pasted node that has a `myself` line; every other node is "not asked".
 */
export function parsePaste(text: string, cluster = 'pasted'): ClusterSnapshot {
  const views: PastedView[] = [];
  let current: PastedView | undefined;
  const startView = (promptAddr?: string): PastedView => {
    current = { nodeLines: [], infoLines: [], otherInfoLines: [], ...(promptAddr ? { promptAddr } : {}) };
    views.push(current);
    return current;
  };

  expandQuotedReplies(text).forEach((rawLine, index) => {
    const line = rawLine.trim();
    const lineNumber = index + 1;
    if (line === '') return;
    if (PROMPT.test(line)) {
      // A new prompt starts the next node's output, unless nothing was pasted yet under this one.
      const promptAddr = addressInPrompt(line);
      if (!current || current.nodeLines.length > 0 || current.infoLines.length > 0) startView(promptAddr);
      else if (promptAddr) current.promptAddr = promptAddr;
      return;
    }
    if (NOISE.test(line)) return;
    const view = current ?? startView();
    const firstField = line.split(/\s+/)[0] ?? '';
    if (isNodeId(firstField)) {
      parseClusterNodesLine(line, lineNumber); // throws a ParseError naming this line
      if (line.split(/\s+/)[2]?.split(',').includes('myself') && view.nodeLines.some(isMyselfLine)) {
        throw new ParseError(
          'a second "myself" line without a redis-cli prompt between the two views; paste each node\'s output after its prompt',
          lineNumber,
          rawLine,
        );
      }
      view.nodeLines.push(line);
    } else if (INFO_LINE.test(line)) {
      (line.startsWith('cluster_') ? view.infoLines : view.otherInfoLines).push(line);
    } else {
      throw new ParseError('not a CLUSTER NODES or CLUSTER INFO line', lineNumber, rawLine);
    }
  });

  const withNodes = views.filter((v) => v.nodeLines.length > 0);
  if (withNodes.length === 0) {
    throw new ParseError(
      'no CLUSTER NODES lines found in the paste (a node line starts with a 40-character id)',
      1,
      text.split(/\r?\n/)[0] ?? '',
    );
  }
  // CLUSTER INFO pasted on its own after the nodes of the same node belongs to that view.
  for (const view of views) {
    if (view.nodeLines.length === 0 && view.infoLines.length > 0) {
      const owner = [...withNodes].reverse().find((v) => v.infoLines.length === 0);
      owner?.infoLines.push(...view.infoLines);
    }
  }

  const probes: NodeProbe[] = [];
  const seen = new Set<string>();
  withNodes.forEach((view, index) => {
    const lines = view.nodeLines.map((l) => parseClusterNodesLine(l));
    const myself = lines.find((l) => l.flags.includes('myself'));
    // A node that never learnt its own IP prints `:0` (or `:port`) as its address: the prompt it
    // was pasted under may still name it. Otherwise the view gets a label that is plainly not
    // an address, and the model never turns that label into a node's address.
    const addr = myself?.addr || view.promptAddr || `pasted-view-${index + 1}`;
    seen.add(addr);
    probes.push({
      addr,
      status: 'ok',
      durationMs: 0,
      replies: {
        clusterNodes: view.nodeLines.join('\n'),
        ...(view.infoLines.length ? { clusterInfo: view.infoLines.join('\n') } : {}),
        ...(view.otherInfoLines.length ? { infoReplication: view.otherInfoLines.join('\n') } : {}),
      },
    });
  });
  for (const view of withNodes) {
    for (const line of view.nodeLines.map((l) => parseClusterNodesLine(l))) {
      if (!line.addr || seen.has(line.addr)) continue;
      seen.add(line.addr);
      probes.push({ addr: line.addr, status: 'not-asked', durationMs: 0 });
    }
  }
  return {
    cluster,
    seeds: probes.filter((p) => p.status === 'ok').map((p) => p.addr),
    takenAt: new Date().toISOString(),
    durationMs: 0,
    probes,
    offline: true,
  };
}

/** `10.0.0.5:6379> ...` or `redis-cli -h 10.0.0.5 -p 6379 ...`: the node the output came from, when it is said. */
function addressInPrompt(line: string): string | undefined {
  const prompt = /^(\S+):(\d+)(?:\[\d+\])?>/.exec(line);
  if (prompt) return validAddr(`${prompt[1]}:${prompt[2]}`);
  const cli = /\bredis-cli\b(.*)$/.exec(line)?.[1];
  // Only an explicit -h / -p: with -u, -s or --cluster the defaults would name the wrong node.
  if (!cli || /\s(-u|-s|--cluster)\s/.test(`${cli} `)) return undefined;
  const host = /\s-h\s+(\S+)/.exec(cli)?.[1];
  const port = /\s-p\s+(\d+)/.exec(cli)?.[1];
  if (!host && !port) return undefined;
  return validAddr(`${host ?? '127.0.0.1'}:${port ?? '6379'}`);
}

function validAddr(text: string): string | undefined {
  try {
    return formatHostPort(parseHostPort(text));
  } catch {
    return undefined;
  }
}

function isMyselfLine(line: string): boolean {
  return line.split(/\s+/)[2]?.split(',').includes('myself') ?? false;
}

// redis-cli on a terminal prints a bulk reply quoted, with newlines as `\n`: unfold it.
function expandQuotedReplies(text: string): string[] {
  return text.split(/\r?\n/).flatMap((line) => {
    const quoted = /^\s*(?:\d+\)\s*)?"(.*)"\s*$/.exec(line);
    if (!quoted || !quoted[1]!.includes('\\n')) return [line];
    return quoted[1]!.replace(/\\"/g, '"').split('\\n');
  });
}
