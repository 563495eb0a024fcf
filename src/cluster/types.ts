import type { SlotRange } from './slots';

/** Flags that `CLUSTER NODES` prints for a node. */
export type NodeFlag = 'myself' | 'master' | 'slave' | 'fail?' | 'fail' | 'handshake' | 'noaddr' | 'nofailover' | 'noflags';

export const KNOWN_FLAGS: readonly NodeFlag[] = [
  'myself',
  'master',
  'slave',
  'fail?',
  'fail',
  'handshake',
  'noaddr',
  'nofailover',
  'noflags',
];

/** One line of `CLUSTER NODES`, as one node sees another (or itself). */
export interface ClusterNodeLine {
  id: string;
  host: string;
  port: number;
  busPort: number;
  hostname?: string;
  /** `host:port`, or '' when the node has no address (noaddr / never learnt). */
  addr: string;
  flags: NodeFlag[];
  masterId: string | null;
  pingSent: number;
  pongRecv: number;
  configEpoch: number;
  linkState: 'connected' | 'disconnected';
  slots: SlotRange[];
  /** Open slots: only the `myself` line shows them. */
  migrating: Array<{ slot: number; to: string }>;
  importing: Array<{ slot: number; from: string }>;
  raw: string;
}

/** `CLUSTER INFO` fields we reason about, plus every raw field. */
export interface ClusterInfo {
  state: 'ok' | 'fail';
  slotsAssigned: number;
  slotsOk: number;
  slotsPfail: number;
  slotsFail: number;
  knownNodes: number;
  size: number;
  currentEpoch: number;
  myEpoch: number;
  fields: Record<string, string>;
  /** The raw `key:value` lines, to quote as evidence. */
  lines: string[];
}

/** The replies one node gave, exactly as received. Pure code parses them later. */
export interface NodeReplies {
  clusterNodes: string;
  clusterInfo?: string;
  /** `CONFIG GET` of cluster-require-full-coverage, cluster-node-timeout, cluster-replica-validity-factor and repl-ping-replica-period, as a flat map. */
  config?: Record<string, string>;
  infoReplication?: string;
  dbsize?: number;
  /**
   * `CLUSTER COUNTKEYSINSLOT` for every open slot this node is an end of (it says MIGRATING or
   * IMPORTING, or another node names it as the other end), by slot. Only open slots are counted:
   * this is what decides which way an interrupted migration can be closed without losing a key.
   */
  openSlotKeys?: Record<string, number>;
  /** The same counts taken again `afterMs` later: keys moving between the two are a resharding at work. */
  openSlotKeysLater?: { afterMs: number; counts: Record<string, number> };
  /** `TIME` on the node, in ms: its clock, which CLUSTER NODES ping-sent / pong-recv are in. */
  timeMs?: number;
  /**
   * `CLUSTER COUNTKEYSINSLOT` for the slots no live master serves (asked after the first pass,
   * only of live masters that hold keys): the ranges asked, and the counts that were not zero.
   * Where those keys are decides who should get the slots.
   */
  slotKeys?: SlotKeyCounts;
}

export interface SlotKeyCounts {
  asked: SlotRange[];
  /** Slot (as a string, JSON keys) -> keys in it; slots asked and absent here hold none. */
  counts: Record<string, number>;
}

/**
 * Why a node gave no answer, as a code: rules branch on it (a refused connection means the
 * process is gone; a timeout means it may be frozen), never on the message text.
 */
export type ProbeFailure =
  | 'refused'
  | 'host-unreachable'
  | 'unresolved'
  | 'connect-timeout'
  | 'no-reply'
  | 'auth-required'
  | 'auth-failed'
  | 'not-cluster'
  | 'other'
  // It answered, but more than a read cap allows: its answer was dropped (status 'discarded').
  | 'reply-too-large'
  | 'too-many-lines';

/** A node that did not refuse: it timed out connecting or replying (frozen, overloaded, filtered). */
export function isSilent(probe: Pick<NodeProbe, 'failure'> | undefined): boolean {
  return probe?.failure === 'no-reply' || probe?.failure === 'connect-timeout';
}

/** What asking one node produced. */
export interface NodeProbe {
  /** The address we asked (`host:port`). */
  addr: string;
  /**
   * ok: it answered; unreachable: connect failed or a command timed out;
   * not-asked: known only from another node's view (offline analysis of one paste);
   * discarded: it answered past a read cap (src/cluster/limits.ts), so its answer is not used:
   * as unknown as a node nobody asked, never "down".
   */
  status: 'ok' | 'unreachable' | 'not-asked' | 'discarded';
  /** The reason in words, for people; `failure` is the same as a code. */
  error?: string;
  failure?: ProbeFailure;
  durationMs: number;
  replies?: NodeReplies;
  /** Result of a plain TCP connect to the cluster bus port, when probed. */
  busPort?: { port: number; reachable: boolean; error?: string };
}

/** An address a node listed that lies outside the cluster's scope: never asked. */
export interface OutOfScopeAddress {
  addr: string;
  /** The node that listed it (the address we asked). */
  namedBy: string;
  /** Its raw CLUSTER NODES line, as evidence. */
  line: string;
  /** The queue Redis's address: never a node, whatever the configuration allows. */
  queueRedis?: boolean;
}

/** A read cap that collection hit (src/cluster/limits.ts). */
export interface CollectionCapHit {
  cap: 'maxReplyBytes' | 'maxClusterNodesLines' | 'maxNodes';
  limit: number;
  /** The node whose answer was dropped (reply caps). */
  addr?: string;
  /** maxNodes: listed addresses that were not asked. */
  notAsked?: string[];
  detail: string;
}

/** Raw material for a diagnosis: every node's replies, nothing interpreted yet. */
export interface ClusterSnapshot {
  cluster: string;
  seeds: string[];
  takenAt: string;
  durationMs: number;
  probes: NodeProbe[];
  /** The addresses collection was allowed to ask, in words (src/cluster/scope.ts). */
  scope?: string;
  /** The allowedNetworks entries in force (configured or default), for the line a finding suggests. */
  scopeEntries?: string[];
  /** Listed addresses outside that scope (each once, with the first line that named it). */
  outOfScope?: OutOfScopeAddress[];
  capsHit?: CollectionCapHit[];
  /** True when built from a paste: one view, nothing asked live. */
  offline?: boolean;
}
