import { ParseError } from '../errors';
import type { ClusterInfo } from './types';

/** Parse `key:value` lines (CLUSTER INFO, INFO sections). `# Section` headers are skipped. */
export function parseInfoFields(text: string, lineOffset = 0): { fields: Record<string, string>; lines: string[] } {
  const fields: Record<string, string> = {};
  const lines: string[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ParseError('expected a key:value line', index + 1 + lineOffset, rawLine);
    fields[line.slice(0, colon)] = line.slice(colon + 1);
    lines.push(line);
  });
  return { fields, lines };
}

export function parseClusterInfo(text: string, lineOffset = 0): ClusterInfo {
  const { fields, lines } = parseInfoFields(text, lineOffset);
  const state = fields['cluster_state'];
  if (state !== 'ok' && state !== 'fail') {
    throw new ParseError('CLUSTER INFO has no cluster_state:ok|fail line', lineOffset + 1, text.split(/\r?\n/)[0] ?? '');
  }
  const num = (key: string): number => {
    const n = Number(fields[key] ?? 0);
    return Number.isFinite(n) ? n : 0;
  };
  return {
    state,
    slotsAssigned: num('cluster_slots_assigned'),
    slotsOk: num('cluster_slots_ok'),
    slotsPfail: num('cluster_slots_pfail'),
    slotsFail: num('cluster_slots_fail'),
    knownNodes: num('cluster_known_nodes'),
    size: num('cluster_size'),
    currentEpoch: num('cluster_current_epoch'),
    myEpoch: num('cluster_my_epoch'),
    fields,
    lines,
  };
}

/** `INFO replication` as a flat map. */
export function parseReplicationInfo(text: string): Record<string, string> {
  return parseInfoFields(text).fields;
}
