import type { ClusterSnapshot } from '../cluster/types';
import type { DiagnosisReport } from '../diagnosis/types';
import type { FixPlan } from './types';

export interface PlanOptions {
  /** Configured spare nodes (host:port) that a plan may bring into the cluster. */
  spareNodes?: string[];
}

/** Pure: a diagnosis in, fix plans out (steps as data). Filled in by the repair module. */
export function planFixes(report: DiagnosisReport, snapshot: ClusterSnapshot, options: PlanOptions = {}): FixPlan[] {
  void report; void snapshot; void options;
  return [];
}
