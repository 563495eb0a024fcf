// Errors carry a stable code: callers (CLI exit codes, Slack replies, job results) branch on
// the code, never on message text.
export enum ErrorCode {
  ParseError = 'parse_error',
  ConfigError = 'config_error',
  UnknownCluster = 'unknown_cluster',
  AddressNotAllowed = 'address_not_allowed',
  NoSeedAnswered = 'no_seed_answered',
  PlanNotFound = 'plan_not_found',
  ClusterChanged = 'cluster_changed',
  RepairLocked = 'repair_locked',
  StepFailed = 'step_failed',
  NotAllowed = 'not_allowed',
  ApprovalExpired = 'approval_expired',
  BadSignature = 'bad_signature',
  QueueUnavailable = 'queue_unavailable',
  PreconditionFailed = 'precondition_failed',
  VerificationFailed = 'verification_failed',
  RepairLockLost = 'repair_lock_lost',
  /** The worker running a repair stopped (killed, crashed) before it finished. */
  RepairInterrupted = 'repair_interrupted',
  /** The bot could not diagnose for a reason of its own (its probe thread failed, or stopped). */
  DiagnosisFailed = 'diagnosis_failed',
}

export class RedisMedicError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisMedicError';
    this.code = code;
  }
}

/** Malformed `CLUSTER NODES` / `CLUSTER INFO` text. `line` is 1-based in the input given. */
export class ParseError extends RedisMedicError {
  readonly line: number;
  readonly text: string;
  constructor(message: string, line: number, text: string) {
    super(ErrorCode.ParseError, `line ${line}: ${message}: ${JSON.stringify(truncate(text, 120))}`);
    this.name = 'ParseError';
    this.line = line;
    this.text = text;
  }
}

export function isRedisMedicError(err: unknown, code?: ErrorCode): err is RedisMedicError {
  return err instanceof RedisMedicError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
