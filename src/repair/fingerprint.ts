import { createHash } from 'node:crypto';
import type { NodeReport } from '../diagnosis/types';
import type { FixAction, PlanCheck, PlanStep, PlanVerification } from './types';

/** Short tags that start plan ids, so a person can tell plans apart at a glance. */
export const ACTION_TAGS: Record<FixAction, string> = {
  RESTART_NODE: 'restart',
  ASSIGN_UNCOVERED_SLOTS: 'assign',
  PROMOTE_REPLICA: 'promote',
  CLOSE_OPEN_SLOTS: 'close',
  FORGET_GHOST_NODES: 'forget',
  MEET_NODES: 'meet',
  ADD_REPLICA: 'replica',
  ALLOW_PARTIAL_COVERAGE: 'partial',
};

const PLAN_ID = /^([a-z]+)-([0-9a-f]{12})$/;

export function isPlanId(text: string): boolean {
  const match = PLAN_ID.exec(text);
  return match !== null && Object.values(ACTION_TAGS).includes(match[1]!);
}

// Only what a plan depends on: identity, role, failure flags, slots and epochs. Ping/pong
// times, replication offsets and key counts move all the time and must not change the id.
const STABLE_FLAGS = new Set(['master', 'slave', 'fail', 'fail?', 'handshake', 'noaddr', 'nofailover']);

function nodeState(node: NodeReport): unknown {
  return {
    id: node.id,
    addr: node.addr,
    role: node.role,
    masterId: node.masterId,
    // fail? and fail both mean "down" here: the suspicion being confirmed by a majority is not a
    // new state for a plan (its steps already differ where the difference matters, e.g. FORCE
    // vs TAKEOVER), and approvals must not be refused as stale for it.
    flags: [...new Set(node.flags.filter((f) => STABLE_FLAGS.has(f)).map((f) => (f === 'fail?' ? 'fail' : f)))].sort(),
    reachable: node.reachable,
    slots: node.slots,
    epoch: node.epoch,
    migrating: node.migrating,
    importing: node.importing,
  };
}

export interface FingerprintInput {
  action: FixAction;
  steps: PlanStep[];
  checks?: PlanCheck[];
  verify?: PlanVerification;
  /** The nodes whose state the plan was made for (ids). */
  involved: string[];
  nodes: NodeReport[];
  /** Anything else the plan depends on (e.g. the slot ranges it answers). */
  extra?: unknown;
}

/**
 * A plan's id: its action tag and the first 12 hex digits of a sha256 over the plan's steps and
 * the relevant state of the nodes it involves. Same state, same id; any relevant change (a node
 * failed over, an epoch bumped, a slot moved) gives another id, so a stale plan is never found.
 */
export function planId(input: FingerprintInput): string {
  const involved = [...new Set(input.involved)].sort();
  const states = involved.map((id) => {
    const node = input.nodes.find((n) => n.id === id);
    return node ? nodeState(node) : { id, unknown: true };
  });
  const canonical = JSON.stringify({
    action: input.action,
    steps: input.steps.map((s) => ({ node: s.node, command: s.command, waitFor: s.waitFor ?? null })),
    checks: input.checks ?? [],
    verify: input.verify ?? null,
    states,
    extra: input.extra ?? null,
  });
  const hash = createHash('sha256').update(canonical).digest('hex').slice(0, 12);
  return `${ACTION_TAGS[input.action]}-${hash}`;
}
