import type { PlannedReport } from '../repair/types';
/** Where a diagnosis goes in Slack. */
export interface SlackTarget {
  channel: string;
  /** Post replies in this thread (an incident's root message). */
  threadTs?: string;
  /** Edit this message as the root (the "Diagnosing..." message of a slash command). */
  messageTs?: string;
}

export interface PublishDiagnosisInput {
  report: PlannedReport;
  target: SlackTarget;
  /** Slack user who asked (two-person rule), or null for the monitor / alerts. */
  requestedBy: string | null;
  /**
   * full: root message (verdict, uncovered ranges, cause) + thread replies.
   * thread-only: replies in target.threadTs only (incident threads own their root message).
   */
  mode: 'full' | 'thread-only';
}

/**
 * Posts a diagnosis with its evidence, node table and fix buttons, and records the approval
 * state the buttons need. Implemented in src/slack (issue: Slack app); the monitor uses it too.
 */
export interface DiagnosisPublisher {
  publishDiagnosis(input: PublishDiagnosisInput): Promise<{ channel: string; ts: string }>;
}
