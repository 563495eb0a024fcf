// CLUSTER NODES and INFO as tests like to read them. The parsers are the product's own
// (src/cluster/parse-nodes.ts, parse-info.ts); tests get the slot fields as Redis printed them, open slots included.
import { parseInfoFields } from '../../cluster/parse-info';
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

/** `key:value` lines (CLUSTER INFO, INFO sections) as a map, read by the product's parser (src/cluster/parse-info.ts). */
export function parseInfo(text: string): Record<string, string> {
  return parseInfoFields(text).fields;
}
