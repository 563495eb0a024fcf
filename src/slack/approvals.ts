import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Approvers, ClusterConfig, Config } from '../config/schema';
import type { Verdict } from '../diagnosis/types';
import { approversNeeded, type ApprovalClaim } from '../repair/approval';
import type { FixPlan } from '../repair/types';
import { escapeMrkdwn } from './blocks/text';
import type { ButtonPayload } from './button-value';
import { queueKeys } from '../queue-keys';

/**
 * One published diagnosis with fix buttons: what was found, who asked, which plans its buttons
 * may run. It lives in the queue Redis, so a restarted app or another replica sees it too.
 */
export interface ApprovalRecord {
  id: string;
  cluster: string;
  /** The Slack user who asked for the diagnosis; null for the monitor and alerts. */
  requestedBy: string | null;
  channel: string;
  /** The thread the diagnosis lives in. */
  threadTs: string | null;
  /** The root message (verdict), edited with the outcome of a repair. */
  rootTs: string | null;
  verdict: Verdict;
  plans: FixPlan[];
  /** ms since the epoch, from the publisher's clock. */
  createdAt: number;
  /**
   * The incident thread offers newer buttons (the plans changed): these answer with a pointer to
   * them instead of running anything.
   */
  supersededBy?: { approvalId: string; ts: string; permalink: string | null } | null;
}

export type { ApprovalClaim };

export interface ApprovalStore {
  save(record: ApprovalRecord): Promise<void>;
  get(id: string): Promise<ApprovalRecord | null>;
  /** Atomic: exactly one caller gets `claimed: true` per approval, however many click at once. */
  claim(id: string, claim: ApprovalClaim): Promise<{ claimed: true } | { claimed: false; by: ApprovalClaim | null }>;
  /** Undo a claim whose enqueue failed (only if it is still ours), so someone can click again. */
  release(id: string, claim: ApprovalClaim): Promise<void>;
  /** Who approved from it, if anyone did. */
  claimOf(id: string): Promise<ApprovalClaim | null>;
  /** Newer buttons replaced these (see ApprovalRecord.supersededBy). */
  supersede(id: string, by: NonNullable<ApprovalRecord['supersededBy']>): Promise<void>;
  /**
   * One approver's vote for a plan that needs several: returns every voter so far, first
   * first, and whether this vote was new (a second click by the same person counts once).
   */
  vote(id: string, planId: string, user: string, at: number): Promise<{ voters: string[]; added: boolean }>;
  /** Every plan's voters so far. */
  votes(id: string): Promise<Record<string, string[]>>;
}

/** Records stay readable long after they expire, so an old button says "expired", not "unknown". */
const KEEP_AFTER_EXPIRY_MS = 24 * 3600 * 1000;

const RELEASE_IF_OURS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

// KEYS[1]: the votes hash (field plan id -> JSON list of voters). ARGV: plan id, user, ttl ms.
const VOTE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local voters = raw and cjson.decode(raw) or {}
for _, v in ipairs(voters) do if v == ARGV[2] then return {raw, 0} end end
table.insert(voters, ARGV[2])
local encoded = cjson.encode(voters)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {encoded, 1}`;

export function createApprovalStore(redis: Redis, prefix: string, expiryMs: number): ApprovalStore {
  const keys = queueKeys(prefix);
  const key = keys.approval;
  const claimKey = keys.approvalClaim;
  const ttlMs = expiryMs + KEEP_AFTER_EXPIRY_MS;
  return {
    async save(record) {
      await redis.set(key(record.id), JSON.stringify(record), 'PX', ttlMs);
    },
    async get(id) {
      const text = await redis.get(key(id));
      if (!text) return null;
      try {
        return JSON.parse(text) as ApprovalRecord;
      } catch {
        return null;
      }
    },
    async claim(id, claim) {
      const ok = await redis.set(claimKey(id), JSON.stringify(claim), 'PX', ttlMs, 'NX');
      if (ok === 'OK') return { claimed: true };
      const current = await redis.get(claimKey(id));
      return { claimed: false, by: current ? (JSON.parse(current) as ApprovalClaim) : null };
    },
    async release(id, claim) {
      await redis.eval(RELEASE_IF_OURS, 1, claimKey(id), JSON.stringify(claim));
    },
    async vote(id, planId, user) {
      const [encoded, added] = (await redis.eval(VOTE, 1, keys.approvalVotes(id), planId, user, String(ttlMs))) as [string, number];
      return { voters: JSON.parse(encoded) as string[], added: added === 1 };
    },
    async votes(id) {
      const all = await redis.hgetall(keys.approvalVotes(id));
      return Object.fromEntries(Object.entries(all).map(([planId, json]) => [planId, JSON.parse(json) as string[]]));
    },
    async claimOf(id) {
      const current = await redis.get(claimKey(id));
      return current ? (JSON.parse(current) as ApprovalClaim) : null;
    },
    async supersede(id, by) {
      const record = await this.get(id);
      if (record) await redis.set(key(id), JSON.stringify({ ...record, supersededBy: by }), 'KEEPTTL');
    },
  };
}

export function newApprovalId(): string {
  return crypto.randomBytes(12).toString('base64url');
}

/** The approvers of a cluster: its own list when it has one, otherwise the global one. */
export function approversFor(config: Config, cluster: ClusterConfig | undefined): Approvers {
  return cluster?.approvers ?? { users: config.approvals.users, usergroups: config.approvals.usergroups };
}

export type RefusalReason =
  | 'bad_value'
  | 'unknown_approval'
  | 'cluster_mismatch'
  | 'plan_not_in_approval'
  | 'plan_not_executable'
  | 'expired'
  | 'not_approver'
  | 'self_approval'
  | 'already_approved'
  | 'superseded'
  | 'unknown_cluster';

export interface Refusal {
  reason: RefusalReason;
  /** What the clicker reads: mrkdwn, with quoted values escaped; no secrets. */
  message: string;
}

export interface ApproverCheck {
  allowed: boolean;
  /** How they are allowed (`user list`, `user group S123`), or why the check could not be made. */
  detail: string;
}

export interface ApprovalPolicy {
  expiryMs: number;
  twoPersonRule: boolean;
  highRiskApprovers?: number;
}

export { approversNeeded };

/**
 * Pure: may `user` run `payload.planId` from `approval` now? Checked in a fixed order, so the
 * reason a user reads is the first thing wrong: the record, its age, who they are.
 */
export function evaluateApproval(input: {
  payload: Extract<ButtonPayload, { kind: 'approve' | 'dry-run' }>;
  approval: ApprovalRecord | null;
  user: string;
  now: number;
  policy: ApprovalPolicy;
  approver?: ApproverCheck;
}): Refusal | null {
  const { payload, approval, user, now, policy, approver } = input;
  if (!approval) {
    return { reason: 'unknown_approval', message: 'This diagnosis is unknown or too old to act on: re-diagnose.' };
  }
  if (approval.cluster !== payload.cluster) {
    return {
      reason: 'cluster_mismatch',
      message: `This button names cluster ${escapeMrkdwn(payload.cluster)}, but its diagnosis is of ${escapeMrkdwn(approval.cluster)}: refused.`,
    };
  }
  if (payload.kind === 'approve' && approval.supersededBy) {
    const where = approval.supersededBy.permalink
      ? `the current fix message: ${escapeMrkdwn(approval.supersededBy.permalink)}`
      : 'the current fix message of this thread';
    return {
      reason: 'superseded',
      message: `The cluster changed since these buttons were posted, so they were replaced: nothing ran. The current plans and buttons are in ${where}.`,
    };
  }
  const plan = approval.plans.find((p) => p.id === payload.planId);
  if (!plan) {
    return { reason: 'plan_not_in_approval', message: 'This button names a plan that is not part of this diagnosis: refused.' };
  }
  if (payload.kind === 'dry-run') return null;
  if (!plan.executable) {
    return { reason: 'plan_not_executable', message: `"${escapeMrkdwn(plan.title)}" is advice that redis-medic cannot carry out itself.` };
  }
  if (now - approval.createdAt > policy.expiryMs) {
    return {
      reason: 'expired',
      message: `This diagnosis is ${Math.round((now - approval.createdAt) / 60000)} min old; approvals expire after ${Math.round(policy.expiryMs / 60000)} min. Re-diagnose, then approve the fresh plan.`,
    };
  }
  if (!approver?.allowed) {
    return {
      reason: 'not_approver',
      message: `You are not allowed to approve repairs of ${escapeMrkdwn(approval.cluster)}${approver ? ` (${escapeMrkdwn(approver.detail)})` : ''}. Ask an approver.`,
    };
  }
  if (policy.twoPersonRule && approval.requestedBy === user) {
    return {
      reason: 'self_approval',
      message: 'Two-person rule: whoever asked for the diagnosis may not approve its repair. Ask another approver.',
    };
  }
  return null;
}
