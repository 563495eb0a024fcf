import type { SlotRange } from '../cluster/slots';

export type Severity = 'critical' | 'warning' | 'info';
/**
 * fault: something is broken now. risk: nothing is broken yet, but it will bite. transition: a
 * state a healthy cluster passes through (a first sync, a failover under way, a resharding, a
 * node joining): named with when it should end, and a fault only once it outlasts its bound.
 */
export type FindingCategory = 'fault' | 'risk' | 'transition';

export type FindingCode =
  | 'ADDRESSES_CHANGED'
  | 'QUORUM_LOST'
  | 'SHARD_ALL_COPIES_DOWN'
  | 'MASTER_DOWN_NO_REPLICA'
  | 'REPLICA_NOT_PROMOTED'
  | 'SPLIT_BRAIN'
  | 'SLOTS_UNASSIGNED'
  | 'NODE_KEEPS_JOINING'
  | 'NODES_DISAGREE'
  | 'OPEN_SLOTS'
  | 'GHOST_NODES'
  | 'REPLICA_DOWN'
  | 'NODE_UNREACHABLE'
  | 'REPLICATION_BROKEN'
  | 'BUS_PORT_UNREACHABLE'
  | 'MASTER_WITHOUT_REPLICA'
  | 'REPLICA_SAME_HOST'
  | 'MASTER_WITHOUT_SLOTS'
  | 'SEED_NOT_IN_CLUSTER'
  | 'FULL_COVERAGE_SETTING'
  | 'NODE_ID_MISMATCH'
  | 'NODE_NOT_CONFIRMED'
  | 'READ_CAP_HIT'
  | 'NODE_OUT_OF_SCOPE'
  // Transitions (severity info, category transition).
  | 'FAILOVER_IN_PROGRESS'
  | 'REPLICA_SYNCING'
  | 'REPLICA_RECONNECTING'
  | 'RESHARDING_IN_PROGRESS'
  | 'NODE_JOINING';

/** Order of precedence when naming the root cause: the first fault in this list wins. */
export const FINDING_PRECEDENCE: readonly FindingCode[] = [
  // Nodes that came back at new addresses explain why every master looks down at once.
  'ADDRESSES_CHANGED',
  'QUORUM_LOST',
  'SHARD_ALL_COPIES_DOWN',
  'MASTER_DOWN_NO_REPLICA',
  'REPLICA_NOT_PROMOTED',
  'SPLIT_BRAIN',
  'SLOTS_UNASSIGNED',
  // An instance that keeps trying to join explains the disagreement its own view causes.
  'NODE_KEEPS_JOINING',
  'NODES_DISAGREE',
  'OPEN_SLOTS',
  'GHOST_NODES',
  'REPLICA_DOWN',
  'NODE_UNREACHABLE',
  'NODE_ID_MISMATCH',
  'NODE_NOT_CONFIRMED',
  'READ_CAP_HIT',
  'REPLICATION_BROKEN',
  'BUS_PORT_UNREACHABLE',
  'MASTER_WITHOUT_REPLICA',
  'REPLICA_SAME_HOST',
  'MASTER_WITHOUT_SLOTS',
  'SEED_NOT_IN_CLUSTER',
  'NODE_OUT_OF_SCOPE',
  'FULL_COVERAGE_SETTING',
  'FAILOVER_IN_PROGRESS',
  'RESHARDING_IN_PROGRESS',
  'REPLICA_SYNCING',
  'REPLICA_RECONNECTING',
  'NODE_JOINING',
];

export interface Finding {
  code: FindingCode;
  severity: Severity;
  category: FindingCategory;
  title: string;
  detail: string;
  /** Raw lines that prove it, each prefixed with the node that said it: `[10.0.0.31:6379] ...`. */
  evidence: string[];
  /** Ids of the nodes concerned. */
  nodes: string[];
  slots: SlotRange[];
  /** Transitions only: when it began and by when it should be over. */
  transition?: TransitionTiming;
}

export interface TransitionTiming {
  /** When it began, as far as the replies show (ISO), or null. */
  since: string | null;
  /** By when it should be over (ISO), or null when the replies cannot tell. */
  until: string | null;
  /** The bound past which it is a fault, in words. */
  bound: string;
}

/** Who a node is and where, as the cluster announces it: shared by the model and the report. */
export interface NodeIdentity {
  id: string;
  addr: string;
  host: string;
  port: number;
  busPort: number;
  role: 'master' | 'replica' | 'unknown';
  masterId: string | null;
}

export interface NodeReport extends NodeIdentity {
  /** Set when it answers at `addr` but announces this older address (see ADDRESSES_CHANGED). */
  announcedAddr?: string;
  /** Its own flags when it answered, otherwise the flags other nodes give it. */
  flags: string[];
  /** true: answered; false: asked and did not answer; null: not asked (offline analysis). */
  reachable: boolean | null;
  error?: string;
  /** Its own `cluster_state`, when it answered. */
  clusterState: 'ok' | 'fail' | null;
  /** down: unreachable or flagged fail by the cluster; suspect: flagged fail? only. */
  health: 'up' | 'suspect' | 'down' | 'unknown';
  slots: SlotRange[];
  epoch: number;
  link: 'connected' | 'disconnected' | null;
  keys: number | null;
  migrating: Array<{ slot: number; to: string }>;
  importing: Array<{ slot: number; from: string }>;
  replication?: { linkStatus?: string; offset?: number };
  requireFullCoverage?: boolean;
  nodeTimeoutMs?: number;
}

export interface CoverageReport {
  /** Slots some node owns and that owner still claims. */
  assigned: number;
  /** Slots served by an owner that is up. */
  ok: number;
  pfail: number;
  fail: number;
  /** Every slot no healthy master serves now: what clients cannot reach. */
  uncovered: SlotRange[];
  /** Subset of uncovered: owned by a master that is down (fail, fail? or unreachable). */
  servedByFailedMaster: SlotRange[];
  /** Subset of uncovered: no owner at all (never assigned, or dropped by its owner). */
  unassigned: SlotRange[];
}

export type Verdict = 'ok' | 'degraded' | 'down';

export interface DiagnosisReport {
  cluster: string;
  checkedAt: string;
  durationMs: number;
  verdict: Verdict;
  /** Code of the root-cause finding (the first fault), or null when nothing is broken. */
  primary: FindingCode | null;
  nodes: NodeReport[];
  coverage: CoverageReport;
  findings: Finding[];
  /** Offline analysis of a paste: what one view cannot know. */
  offline?: boolean;
  limitations?: string[];
}
