import { resolveClusterRef } from '../config/clusters';
import type { ClusterConfig, Config } from '../config/schema';
import { errorMessage } from '../errors';
import { unescapeSlackText } from './blocks/text';

/** What the user asked for with `/redis-diagnose <text>`. */
export type CommandRequest =
  | { kind: 'help' }
  | { kind: 'bare' }
  | { kind: 'list' }
  | { kind: 'paste' }
  | { kind: 'diagnose'; ref: string }
  | { kind: 'audit'; ref: string }
  | { kind: 'silence'; ref: string; duration: string; reason: string | null }
  | { kind: 'unsilence'; ref: string }
  | { kind: 'usage'; message: string };

const KEYWORDS = new Set(['help', 'list', 'paste', 'audit', 'silence', 'unsilence']);
/** A silence's reason is shown in Slack and kept in the audit stream: one line, bounded. */
export const MAX_SILENCE_REASON = 200;

/** Pure: the command text (as Slack sends it) to a request. Keywords win over cluster names. */
export function parseCommandText(raw: string): CommandRequest {
  const words = unescapeSlackText(raw).trim().split(/\s+/).filter(Boolean);
  const [first, ...rest] = words;
  // No text is not the same as `help`: with one cluster configured, it diagnoses that cluster.
  if (first === undefined) return { kind: 'bare' };
  const keyword = first.toLowerCase();
  if (keyword === 'help' || keyword === 'list' || keyword === 'paste') {
    return rest.length ? { kind: 'usage', message: `\`${keyword}\` takes no argument.` } : { kind: keyword };
  }
  if (keyword === 'silence') {
    if (rest.length < 2)
      return {
        kind: 'usage',
        message: 'Usage: `/redis-diagnose silence <cluster> <duration> [reason]`, e.g. `silence payments 2h db upgrade`.',
      };
    const reason = rest.slice(2).join(' ').slice(0, MAX_SILENCE_REASON);
    return { kind: 'silence', ref: rest[0]!, duration: rest[1]!, reason: reason || null };
  }
  if (keyword === 'unsilence') {
    if (rest.length !== 1) return { kind: 'usage', message: 'Usage: `/redis-diagnose unsilence <cluster>`.' };
    return { kind: 'unsilence', ref: rest[0]! };
  }
  if (keyword === 'audit') {
    if (rest.length !== 1) return { kind: 'usage', message: 'Usage: `/redis-diagnose audit <cluster>`.' };
    return { kind: 'audit', ref: rest[0]! };
  }
  if (rest.length) return { kind: 'usage', message: `One cluster at a time: \`/redis-diagnose ${first}\`.` };
  return { kind: 'diagnose', ref: first };
}

export type Resolution = { ok: true; cluster: ClusterConfig; viaAddress: boolean } | { ok: false; message: string };

/**
 * Pure: a name or a host:port typed in Slack to a configured cluster, or a refusal that lists
 * the known clusters. A typed address is accepted only when it is a configured seed or spare:
 * nothing typed in Slack ever becomes a connection to an address the configuration lacks.
 */
export function resolveTypedCluster(config: Config, ref: string): Resolution {
  try {
    const cluster = resolveClusterRef(config, ref);
    return { ok: true, cluster, viaAddress: cluster.name !== ref };
  } catch (err) {
    return { ok: false, message: errorMessage(err) };
  }
}

/** With no argument: the only cluster when there is exactly one, otherwise help. */
export function defaultRequest(config: Config, request: CommandRequest): Exclude<CommandRequest, { kind: 'bare' }> {
  if (request.kind !== 'bare') return request;
  return config.clusters.length === 1 ? { kind: 'diagnose', ref: config.clusters[0]!.name } : { kind: 'help' };
}

export function isKeyword(word: string): boolean {
  return KEYWORDS.has(word.toLowerCase());
}
