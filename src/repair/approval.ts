import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema';
import { queueKeys } from '../queue-keys';

/**
 * Who approved which plan of which cluster, and when: what a repair job carries, signed by the
 * process that took the approval (the Slack app, or `redis-medic fix` for itself). Anyone who
 * can write to the queue Redis can write a job; only a holder of APPROVAL_SECRET can sign one.
 */
export interface SignedApproval {
  v: 1;
  /** The approval record (Slack) or `cli-…` (the fix command). */
  id: string;
  cluster: string;
  planId: string;
  /** Every approver, in the order they approved (one, or N for high-risk plans). */
  approvers: string[];
  /** When the approval was claimed (ms since the epoch), as stored in the claim. */
  claimedAt: number;
  /** HMAC-SHA256 over the fields above, base64url. */
  signature: string;
}

export type ApprovalFields = Omit<SignedApproval, 'v' | 'signature'>;

/**
 * How many distinct approvers a plan needs before it runs: `approvals.highRiskApprovers` for a
 * plan of risk `high`, one otherwise. The same rule for Slack clicks and for `redis-medic fix`.
 */
export function approversNeeded(plan: { risk: string }, policy: { highRiskApprovers?: number | undefined }): number {
  return plan.risk === 'high' ? Math.max(1, policy.highRiskApprovers ?? 1) : 1;
}

/** The claim an approval store keeps: exactly one run per approval. */
export interface ApprovalClaim {
  /** The approver whose click completed the approval. */
  user: string;
  planId: string;
  at: number;
  /** Every approver, when more than one was required. */
  approvers?: string[];
}

export interface ApprovalSigner {
  sign(fields: ApprovalFields): SignedApproval;
  /** True only for an approval signed with this key, unaltered. */
  verify(approval: SignedApproval): boolean;
}

export function createApprovalSigner(secret: Buffer): ApprovalSigner {
  const mac = (fields: ApprovalFields): Buffer => crypto.createHmac('sha256', secret).update(canonical(fields)).digest();
  return {
    sign(fields) {
      return { v: 1, ...fields, approvers: [...fields.approvers], signature: mac(fields).toString('base64url') };
    },
    verify(approval) {
      const given = Buffer.from(approval.signature, 'base64url');
      const expected = mac(approval);
      return given.length === expected.length && crypto.timingSafeEqual(given, expected);
    },
  };
}

/**
 * The approval signing key: derived from APPROVAL_SECRET (or, without one, from the Slack signing
 * secret, as the button key is), with its own label so a button signature can never pass as an
 * approval signature. Undefined when neither secret is configured.
 */
export function approvalSigningSecret(config: Pick<Config, 'approvalSecret' | 'slack'>): Buffer | undefined {
  const base = config.approvalSecret
    ? Buffer.from(config.approvalSecret, 'utf8')
    : config.slack.signingSecret
      ? crypto.createHmac('sha256', config.slack.signingSecret).update('redis-medic button key v1').digest()
      : undefined;
  if (!base) return undefined;
  return crypto.createHmac('sha256', base).update('redis-medic approval signature v1').digest();
}

export async function readApprovalClaim(redis: Redis, prefix: string, approvalId: string): Promise<ApprovalClaim | null> {
  const text = await redis.get(queueKeys(prefix).approvalClaim(approvalId));
  if (!text) return null;
  try {
    return JSON.parse(text) as ApprovalClaim;
  } catch {
    return null;
  }
}

// SET NX, or the same job again (a stalled job handed to another worker keeps its id): the
// value is the job id that used the approval. Returns [1] when this job holds it, [0, holder] when not.
const CONSUME = `
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
if current == ARGV[1] then return {1} end
return {0, current}
`;

/**
 * Uses a verified approval up, atomically: the first job that claims it holds it until the
 * approval expires (and at least a minute), and only that job (its retries after a crash
 * included) may run it. A copy of the signed job under any other job id gets `used: false`.
 */
export async function consumeApproval(
  redis: Redis,
  prefix: string,
  approval: Pick<SignedApproval, 'id' | 'claimedAt'>,
  jobId: string,
  maxAgeMs: number,
  now: number,
): Promise<{ used: true } | { used: false; by: string }> {
  const ttlMs = Math.max(60_000, approval.claimedAt + maxAgeMs - now + 60_000);
  const [ok, holder] = (await redis.eval(CONSUME, 1, queueKeys(prefix).approvalUsed(approval.id), jobId, String(Math.ceil(ttlMs)))) as [
    number,
    string?,
  ];
  return ok === 1 ? { used: true } : { used: false, by: holder ?? 'another job' };
}

export type ApprovalCheck = { ok: true; approval: SignedApproval } | { ok: false; reason: string; code: ApprovalRefusal };

export type ApprovalRefusal = 'no_key' | 'unsigned' | 'bad_signature' | 'mismatch' | 'no_claim' | 'claim_mismatch' | 'expired';

export interface ApprovalCheckInput {
  /** What the job carries: untrusted until checked. */
  approval: unknown;
  /** What the job asks to run, as its other fields say. */
  job: { approvalId: string; cluster: string; planId: string };
  signer: ApprovalSigner | undefined;
  /** The claim in the approval store, or null. */
  readClaim(approvalId: string): Promise<ApprovalClaim | null>;
  now: number;
  /** A signed approval older than this is not run (default: the approval expiry). */
  maxAgeMs: number;
}

/**
 * May this job run? Its approval must be signed with our key, name the same approval, cluster
 * and plan as the job, be fresh, and match the claim in the approval store (the claim is what
 * makes one approval one run). Checked in this order so the reason says the first thing wrong.
 */
export async function checkApproval(input: ApprovalCheckInput): Promise<ApprovalCheck> {
  const { job, signer, now } = input;
  if (!signer) return refuse('no_key', 'this process cannot verify approvals: APPROVAL_SECRET (or SLACK_SIGNING_SECRET) is not configured');
  const approval = parseApproval(input.approval);
  if (!approval) return refuse('unsigned', 'the job carries no signed approval');
  if (!signer.verify(approval))
    return refuse('bad_signature', 'the approval signature does not verify (forged or altered, or signed with another APPROVAL_SECRET)');
  if (approval.id !== job.approvalId || approval.cluster !== job.cluster || approval.planId !== job.planId) {
    return refuse('mismatch', 'the signed approval is for another approval, cluster or plan than the job');
  }
  if (approval.claimedAt > now + 60_000 || now - approval.claimedAt > input.maxAgeMs) {
    return refuse(
      'expired',
      `the approval is ${Math.round((now - approval.claimedAt) / 60_000)} min old (at most ${Math.round(input.maxAgeMs / 60_000)}): re-diagnose and approve again`,
    );
  }
  const claim = await input.readClaim(approval.id);
  if (!claim) return refuse('no_claim', 'no claim of this approval exists in the approval store');
  const claimed = claim.approvers ?? [claim.user];
  if (claim.planId !== approval.planId || claim.at !== approval.claimedAt || !sameList(claimed, approval.approvers)) {
    return refuse('claim_mismatch', 'the claim in the approval store does not match the signed approval');
  }
  return { ok: true, approval };
}

function refuse(code: ApprovalRefusal, reason: string): ApprovalCheck {
  return { ok: false, code, reason };
}

function parseApproval(value: unknown): SignedApproval | null {
  if (!value || typeof value !== 'object') return null;
  const a = value as Record<string, unknown>;
  const str = (k: string): boolean => typeof a[k] === 'string' && (a[k] as string).length > 0;
  if (a.v !== 1 || !str('id') || !str('cluster') || !str('planId') || !str('signature')) return null;
  if (typeof a.claimedAt !== 'number' || !Number.isFinite(a.claimedAt)) return null;
  if (!Array.isArray(a.approvers) || a.approvers.length === 0 || !a.approvers.every((u) => typeof u === 'string' && u.length > 0))
    return null;
  return {
    v: 1,
    id: a.id as string,
    cluster: a.cluster as string,
    planId: a.planId as string,
    approvers: a.approvers as string[],
    claimedAt: a.claimedAt,
    signature: a.signature as string,
  };
}

function canonical(fields: ApprovalFields): string {
  // JSON of an array: no separator inside a field can make two approvals collide.
  return JSON.stringify(['redis-medic approval', 1, fields.id, fields.cluster, fields.planId, fields.approvers, fields.claimedAt]);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
