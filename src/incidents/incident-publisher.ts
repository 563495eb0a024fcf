// The port through which the incident monitor talks to people: it says WHAT the incident thread
// must show (a root message in some state, a diagnosis with fix buttons, a note), the adapter
// (src/slack/incident-publisher.ts) decides HOW. Nothing here knows Slack.
import type { Finding } from '../diagnosis/types';
import type { FixUsed } from './assess';
import type { PlannedReport } from '../repair/types';

/** Which incident, and where its thread lives. */
export interface IncidentRef {
  cluster: string;
  incidentId: string;
  channel: string;
  openedAt: number;
}

/** Until when the cluster was silenced while this incident was present, by whom and why. */
export interface SilencedView {
  until: number;
  by: string;
  reason: string | null;
  source: 'command' | 'maintenance';
}

/**
 * What the root message shows. `flaps`: how often it broke again after being resolved;
 * `silenced`: the cluster was silenced while it was present (the silence is over).
 */
export type RootView = (
  | { state: 'open'; report: PlannedReport; detectedBy: string; updatedAt: number; flaps: number }
  | { state: 'recovering'; cause: string | null; since: number; resolveAfterPolls: number; flaps: number }
  | { state: 'resolved'; cause: string | null; fix: FixUsed | null; resolvedAt: number; resolveAfterPolls: number; flaps: number }
) & { silenced?: SilencedView };

/** A message in the thread beside the diagnoses. */
export type ThreadNote =
  /** It broke again `at`, `resolvedAt` having been its last resolution. */
  | { kind: 'reopened'; at: number; resolvedAt: number; flaps: number }
  /** The incident record was gone (queue Redis restarted empty) and this thread was picked up again. */
  | { kind: 'adopted'; at: number }
  /** An alert about the cluster arrived while the incident was open: once per alert and status. */
  | { kind: 'alert'; at: number; source: string; name: string; status: 'firing' | 'resolved'; summary?: string }
  | {
      kind: 'resolved';
      cause: string | null;
      fix: FixUsed | null;
      openedAt: number;
      resolvedAt: number;
      resolveAfterPolls: number;
      flaps: number;
    };

/** An incident root of ours found in a channel (by its message metadata). */
export interface FoundRoot {
  ts: string;
  incidentId: string;
  state: 'open' | 'recovering' | 'resolved';
  openedAt: number | null;
  resolvedAt: number | null;
  flaps: number;
}

/** The thread's current fix message: its ts, the approval its buttons belong to, the plans they offer. */
export interface FixMessage {
  ts: string;
  approvalId: string;
  plans: string[];
}

/**
 * Where a (possibly interrupted) delivery of one multi-part message stands. `key` is carried in
 * each part's metadata, so an attempt whose outcome is unknown (a timeout: Slack may have
 * posted it) is looked up before it is posted again.
 */
export interface Delivery {
  key: string;
  /** Parts known to have landed; a retry starts after them. */
  landed: number;
  /** An earlier attempt may have landed more than `landed` parts: look before posting. */
  uncertain: boolean;
}

export interface IncidentPublisher {
  /**
   * The newest incident root of ours for `cluster` in `channel` (or the root of `incidentId`),
   * from the channel's history. null when there is none; throws DeliveryError when the history
   * cannot be read.
   */
  findRoot(query: { channel: string; cluster: string; incidentId?: string }): Promise<FoundRoot | null>;
  /** Posts the root message; returns its ts. */
  postRoot(ref: IncidentRef, view: RootView): Promise<string>;
  editRoot(ref: IncidentRef, ts: string, view: RootView): Promise<void>;
  /**
   * The diagnosis in the thread (summary, findings, node table, fix buttons), in order, resuming
   * after `delivery.landed` parts; `onLanded(n)` is awaited after each part lands. Returns the
   * fix message when it has buttons.
   */
  postDiagnosis(
    ref: IncidentRef,
    threadTs: string,
    report: PlannedReport,
    delivery: Delivery,
    onLanded: (landed: number) => Promise<void>,
  ): Promise<FixMessage | null>;
  /**
   * Same findings, other plans: the fix message is edited in place to offer the current plans
   * (buttons of a new approval; the old ones answer with a pointer here). 'busy' when someone
   * already approved from it (a repair runs: its progress owns the message).
   */
  refreshFixes(ref: IncidentRef, threadTs: string, report: PlannedReport, current: FixMessage): Promise<FixMessage | 'busy'>;
  /** A newer diagnosis was posted: the old fix message loses its buttons and points to `current`. */
  retireFixes(ref: IncidentRef, old: FixMessage, current: FixMessage | null): Promise<void>;
  postNote(ref: IncidentRef, threadTs: string, note: ThreadNote, delivery: Delivery): Promise<void>;
  /** Risks are not incidents: one message in the channel, at most once per digest interval. */
  postRisks(input: { channel: string; cluster: string; risks: readonly Finding[]; digestMs: number; at: number }): Promise<void>;
}

/**
 * A Slack call that failed. `landed`: 'no' when Slack certainly did not act (an error answer, a
 * rate limit), 'unknown' when it may have (a timeout, a 5xx, a broken connection).
 */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly landed: 'no' | 'unknown',
    /** Slack asked to wait this long (429 Retry-After). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export function isDeliveryError(err: unknown): err is DeliveryError {
  return err instanceof DeliveryError;
}
