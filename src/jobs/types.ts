import type { FixPlan, RepairProgress, RepairResult, PlannedReport } from '../repair/types';
import type { SignedApproval } from '../repair/approval';

/** Who asked for a job and where its answer goes. */
export type Origin =
  | {
      kind: 'slack';
      channel: string;
      user: string /** root message to edit */;
      messageTs?: string;
      threadTs?: string;
      responseUrl?: string;
    }
  | { kind: 'cli'; user?: string }
  | { kind: 'monitor' }
  | { kind: 'alert'; source: string };

export interface DiagnoseJobData {
  cluster: string;
  origin: Origin;
}

export interface RepairJobData {
  cluster: string;
  planId: string;
  /** One approval = one run: the job id is derived from plan id + approval id. */
  approvalId: string;
  approvedBy: string;
  /** Signed by whoever took the approval; the worker runs nothing without it (src/repair/approval.ts). */
  approval?: SignedApproval;
  origin: Origin;
  /**
   * The plan as the approver saw it (its title, steps and basis). Only used to explain a refusal
   * ("which precondition no longer holds"): the steps that run always come from a fresh diagnosis.
   */
  approvedPlan?: FixPlan;
}

export interface MonitorJobData {
  cluster: string;
  /** Why this poll: the scheduler's tick, or an alert that asks for an immediate look. */
  reason: 'schedule' | 'alert' | 'recheck';
  alert?: { source: string; status: 'firing' | 'resolved'; summary?: string };
  /** Every alert of the payload for this cluster: an open incident's thread notes each once per status. */
  alerts?: AlertNote[];
}

/** One alert as an incident thread notes it (issue 13 §3). */
export interface AlertNote {
  /** Stable per alert (Alertmanager's fingerprint, else a hash of its labels): a repeat is noted once. */
  key: string;
  source: string;
  /** Its alertname (Alertmanager), else the source. */
  name: string;
  status: 'firing' | 'resolved';
  summary?: string;
}

/** Progress a repair reports while it runs, defined by the repair core (also the BullMQ job progress payload). */
export type { RepairProgress } from '../repair/types';

/** Progress a diagnosis reports (the BullMQ job progress payload of diagnose jobs). */
export interface DiagnoseProgress {
  phase: 'collecting' | 'diagnosed';
  /** e.g. "checking 3 seed nodes of payments", "checked 6 nodes: down (QUORUM_LOST)". */
  message: string;
  nodes?: number;
}

/**
 * What the processes that talk to people (Slack) want to hear from workers. Workers call these
 * after the core work; a hook that throws is logged and never fails the job.
 */
export interface JobHooks {
  onDiagnoseProgress?(data: DiagnoseJobData, message: string): Promise<void>;
  onDiagnosisDone?(data: DiagnoseJobData, report: PlannedReport, jobId: string): Promise<void>;
  onDiagnosisFailed?(data: DiagnoseJobData, error: string, jobId: string): Promise<void>;
  onRepairProgress?(data: RepairJobData, progress: RepairProgress): Promise<void>;
  onRepairDone?(data: RepairJobData, result: RepairResult, jobId: string): Promise<void>;
}

export type DiagnoseJobResult = PlannedReport;
export type RepairJobResult = RepairResult;

/** What request handlers (Slack, HTTP) need from the job system: fast enqueues, nothing else. */
export interface Enqueuer {
  /** Resolves with the job id once the job is in the queue. */
  enqueueDiagnosis(data: DiagnoseJobData): Promise<string>;
  /** At most one job per (plan id, approval id): `created` is false when it already existed. */
  enqueueRepair(data: RepairJobData): Promise<{ jobId: string; created: boolean }>;
  /** An immediate monitor poll (alerts, rechecks). */
  enqueueMonitorPoll(data: MonitorJobData): Promise<string>;
}
