import type { SlotRange } from '../cluster/slots';
import type { DiagnosisReport } from '../diagnosis/types';
import type { ErrorCode } from '../errors';

export type FixAction =
  | 'RESTART_NODE'
  | 'ASSIGN_UNCOVERED_SLOTS'
  | 'PROMOTE_REPLICA'
  | 'CLOSE_OPEN_SLOTS'
  | 'FORGET_GHOST_NODES'
  | 'MEET_NODES'
  | 'ADD_REPLICA'
  | 'ALLOW_PARTIAL_COVERAGE';

export type Risk = 'low' | 'medium' | 'high';

export interface PlanStep {
  /** `host:port` of a node of the diagnosed cluster (or a configured spare). */
  node: string;
  /** The exact command, one argument per element: `['CLUSTER', 'FAILOVER', 'TAKEOVER']`. */
  command: string[];
  /** Why this step, in a few words. */
  why?: string;
  /**
   * After the command, wait (read-only polling) until `node` has joined: it lists these ids
   * (no handshake) and its current epoch caught up. A node that just met the cluster must
   * know it before it may claim slots or replicate a master.
   */
  waitFor?: JoinWait;
  /**
   * Set on the one MIGRATE shape a plan may contain: move every key of `slot` from `node` to the
   * node in `command` (MIGRATE host port "" 0 <timeout> [REPLACE] KEYS), `batch` keys at a time.
   * The keys are not in the plan: the executor asks `CLUSTER GETKEYSINSLOT slot batch` on `node`
   * and appends them, batch after batch, until the slot is empty there.
   */
  moveKeys?: KeyMove;
}

export interface KeyMove {
  slot: number;
  /** Id of the node receiving the keys (the host and port in the command are its address). */
  to: string;
  batch: number;
}

export interface JoinWait {
  node: string;
  knowsIds: string[];
  currentEpochAtLeast?: number;
}

/**
 * A read-only check the executor runs before the first step; if one fails the plan is
 * refused and nothing is changed.
 */
export type PlanCheck =
  /** A spare must be a blank cluster node: knows no other node, owns no slots, holds no keys. */
  | { kind: 'blank-node'; node: string }
  /** `CLUSTER COUNTKEYSINSLOT` must be 0 on `node` for each slot (the side whose keys would be orphaned). */
  | { kind: 'no-keys-in-slots'; node: string; slots: number[] };

/** What "done" means for a plan; checked by polling every live node after the steps. */
export interface PlanVerification {
  /** Every counted node says cluster_state:ok and cluster_slots_ok:16384. */
  clusterOk: boolean;
  /** Node ids that no live node may list any more. */
  forgotten?: string[];
  /** No node reports a MIGRATING or IMPORTING slot. */
  noOpenSlots?: boolean;
  /** No node reports these slots MIGRATING or IMPORTING (other open slots are another plan's). */
  closedSlots?: number[];
  /** Every node routes each of these slots to this node id. */
  slotOwners?: Array<{ slot: number; owner: string }>;
  /** `node` (host:port) must be a replica of `masterId` with master_link_status:up. */
  replicaOf?: Array<{ node: string; masterId: string }>;
  /** Every live node lists every other live node, without handshake. */
  meshed?: boolean;
  /** Every live node reports this configuration value. */
  config?: { parameter: string; value: string };
  /** Every live node routes these slots to a master it does not flag as failing. */
  slotsServed?: SlotRange[];
  /** host:port of nodes that join through the plan (spares) and count from then on. */
  extraNodes?: string[];
}

/**
 * Whether a node is there for a plan: `up` (answers, nobody flags it), `suspect` (answers, but a
 * peer flags it failing: a partition between nodes), `down` (does not answer and no peer talks
 * to it, or the cluster flags it failing), `cut-off` (does not answer us while a peer still
 * talks to it, unflagged: it may be alive on the other side of a partition), `unknown`.
 * Deliberately not the flags themselves: Redis lists a killed master as plain `master ...
 * disconnected`, then `fail?`, then `fail` as gossip converges, and none of that changes what a
 * plan does or whether it is safe.
 */
export type NodePresence = 'up' | 'suspect' | 'down' | 'cut-off' | 'unknown';

/** What a plan rests on for one node it involves: who and where it is, what it serves, whether it is there. */
export interface NodeBasis {
  id: string;
  addr: string;
  role: 'master' | 'replica' | 'unknown';
  masterId: string | null;
  presence: NodePresence;
  slots: SlotRange[];
  migrating: Array<{ slot: number; to: string }>;
  importing: Array<{ slot: number; from: string }>;
}

/**
 * A plan's preconditions as data: the state of each node it involves, and whatever else it
 * depends on (the slot ranges it answers, the ghosts it forgets). Hashed into the plan id, and
 * kept on the plan, so the executor can say which of them no longer holds.
 */
export interface PlanBasis {
  nodes: NodeBasis[];
  extra: unknown;
}

/** A fix: exact commands on exact nodes, made for one cluster state (its id is a fingerprint of it). */
export interface FixPlan {
  id: string;
  action: FixAction;
  title: string;
  /** The finding codes it answers. */
  fixes: string[];
  risk: Risk;
  dataLoss: { slots: SlotRange[]; lastKnownKeys: number | null; text: string };
  preconditions: string[];
  steps: PlanStep[];
  expected: string;
  /** false for advice that redis-medic cannot carry out itself (e.g. restart a process). */
  executable: boolean;
  /** Read-only checks that must pass before the first step (default none). */
  checks?: PlanCheck[];
  /** How the executor verifies the plan worked (default: cluster_state:ok everywhere). */
  verify?: PlanVerification;
  /**
   * Steps are independent and time-bound together (CLUSTER FORGET must reach every node within
   * Redis's 60 s ban window): the executor sends them all at once.
   */
  concurrent?: boolean;
  /** What the plan was made on (src/repair/fingerprint.ts): the executor names what changed when it no longer holds. */
  basis?: PlanBasis;
}

/**
 * What planning adds to a diagnosis: the plans, or why there are none. The diagnosis itself
 * (src/diagnosis/types.ts) knows nothing of plans.
 */
export interface PlanOutcome {
  fixes: FixPlan[];
  /** Set when the fix planner failed: the findings stand, the fixes are missing. */
  planningError?: string;
}

/**
 * A diagnosis and its plans side by side, as the engine hands them out and as they travel (job
 * results, Slack, the CLI's --json): the report's fields, then the plan outcome's.
 */
export type PlannedReport = DiagnosisReport & PlanOutcome;

export interface StepResult {
  node: string;
  command: string[];
  reply: string;
  ok: boolean;
  ms: number;
}

export interface RepairResult {
  status: 'repaired' | 'failed' | 'refused';
  reason?: string;
  /** Why it was refused or failed, for callers that branch (never on `reason` text). */
  code?: ErrorCode;
  planId: string;
  /** The plan as it was run (absent when it was not found). */
  plan?: FixPlan;
  steps: StepResult[];
  durationMs: number;
  /** Where the time went: lock wait, re-diagnosis, steps, verification (until verified or given up). */
  timings?: { lockMs: number; rediagnoseMs: number; stepsMs: number; verifyMs: number };
  /** What verification saw last, when it did not pass. */
  verification?: string;
  finalReport?: PlannedReport;
  /** Steps of the plan that never ran (a run cut short: a failed step, a lost lock, a dead worker). */
  notRun?: Array<{ node: string; command: string[] }>;
}

/** The last recorded key count of a node (kept by src/incidents/store.ts): what a down master held. */
export interface LastKnownKeys {
  addr: string;
  keys: number;
  /** ISO time of that count. */
  at: string;
}

/** Looks up recorded key counts of nodes (by id); src/incidents/store.ts implements it. */
export type LastKnownLookup = (nodeIds: string[]) => Promise<Map<string, LastKnownKeys>>;

/** Progress a repair reports while it runs (the queue layer passes it on as job progress). */
export type RepairProgress =
  | { phase: 'locking' | 'rediagnosing' | 'verifying'; message: string }
  /** The plan is about to run: every step, so a run cut short can say which did not run. */
  | { phase: 'started'; planId: string; title: string; steps: Array<{ node: string; command: string[] }>; message: string }
  | {
      phase: 'step';
      index: number;
      total: number;
      node: string;
      command: string[];
      status: 'running' | 'ok' | 'failed';
      reply?: string;
      ms?: number;
      message: string;
    };
