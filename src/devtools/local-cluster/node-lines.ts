// CLUSTER NODES and INFO as tests like to read them. The line parser is the product's own
// (src/cluster/parse-nodes.ts); tests get the slot fields as Redis printed them, open slots included.
import { parseClusterNodes as parseNodeLines } from '../../cluster/parse-nodes';
import type { ClusterNodeLine } from './types';

export function parseClusterNodes(text: string): ClusterNodeLine[] {
  return parseNodeLines(text).map((line) => ({
    id: line.id,
    addr: line.addr,
    flags: [...line.flags],
    masterId: line.masterId ?? undefined,
    linkState: line.linkState,
    slots: line.raw.split(/\s+/).slice(8),
    raw: line.raw,
  }));
}

/** Parses `key:value` lines (CLUSTER INFO, INFO sections). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const sep = line.indexOf(':');
    if (sep > 0 && !line.startsWith('#')) out[line.slice(0, sep)] = line.slice(sep + 1).trim();
  }
  return out;
}
