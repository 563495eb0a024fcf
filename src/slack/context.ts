import type { WebClient } from '@slack/web-api';
import type { AuditLog } from '../audit/audit-log';
import type { Approvers, Config } from '../config/schema';
import type { IncidentStore } from '../incidents/store';
import type { Enqueuer } from '../jobs/types';
import type { SilenceStore } from '../incidents/silences';
import type { Logger } from '../logging/logger';
import type { ApprovalSigner } from '../repair/approval';
import type { ApprovalStore, ApproverCheck } from './approvals';
import type { ButtonSigner } from './button-value';
import type { ClusterStates } from './cluster-states';
import type { InflightDiagnoses } from './inflight-diagnoses';
import type { SlackNotifier } from './notifier';

/** What every listener needs, built once by createSlackApp. */
export interface SlackContext {
  config: Config;
  logger: Logger;
  enqueuer: Enqueuer;
  audit: AuditLog;
  client: WebClient;
  approvals: ApprovalStore;
  states: ClusterStates;
  /** One diagnosis per cluster in flight. */
  inflight: InflightDiagnoses;
  /** The monitor's incidents: while one is open, its thread is the one place for that outage. */
  incidents: Pick<IncidentStore, 'getIncident'>;
  /** Silenced clusters (shared with the monitor through the queue Redis). */
  silences: SilenceStore;
  signer: ButtonSigner;
  /** Signs each approval for the repair worker, which runs nothing unsigned. */
  approvalSigner: ApprovalSigner;
  isApprover: (user: string, approvers: Approvers) => Promise<ApproverCheck>;
  /** Publishes paste analyses (same message layout as the workers' diagnoses). */
  notifier: SlackNotifier;
  now: () => number;
}
