import type { SlotRange } from '../cluster/slots';
import type { DiagnosisReport } from '../diagnosis/types';

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
}

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
  planId: string;
  steps: StepResult[];
  durationMs: number;
  finalReport?: DiagnosisReport;
}
