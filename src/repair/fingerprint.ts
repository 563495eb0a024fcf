import { createHash } from 'node:crypto';
import type { NodeReport } from '../diagnosis/types';
import type { FixAction, NodeBasis, NodePresence, PlanBasis, PlanCheck, PlanStep, PlanVerification, Risk } from './types';

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

export function presenceOf(node: NodeReport): NodePresence {
  const flagged = node.flags.includes('fail') || node.flags.includes('fail?');
  if (node.reachable === true) return node.health === 'up' ? 'up' : 'suspect';
  if (node.reachable === false) return node.link === 'connected' && !flagged ? 'cut-off' : 'down';
  // Not asked (a paste): what the views say.
  if (node.health === 'down' || node.health === 'suspect') return 'down';
  return node.health === 'up' ? 'up' : 'unknown';
}

export function nodeBasis(node: NodeReport): NodeBasis {
  return {
    id: node.id,
    addr: node.addr,
    role: node.role,
    masterId: node.masterId,
    presence: presenceOf(node),
    slots: node.slots,
    migrating: node.migrating,
    importing: node.importing,
  };
}

export interface FingerprintInput {
  action: FixAction;
  steps: PlanStep[];
  checks?: PlanCheck[];
  verify?: PlanVerification;
  risk?: Risk;
  /** The nodes whose state the plan was made for (ids). */
  involved: string[];
  nodes: NodeReport[];
  /** Anything else the plan depends on (e.g. the slot ranges it answers). */
  extra?: unknown;
}

/**
 * A plan's identity: its id and the basis it was made on. The id is the action tag and the first
 * 12 hex digits of a sha256 over what the plan does (steps, checks, verification, risk) and what
 * makes it safe (the basis). Same plan on the same basis, same id: config epochs, link states,
 * ping times and how far the failure flags have spread do not count. Any change that matters (a
 * node answers again, failed over, moved slots; another target) gives another id.
 */
export function identify(input: FingerprintInput): { id: string; basis: PlanBasis } {
  const involved = [...new Set(input.involved)].sort();
  const basis: PlanBasis = {
    nodes: involved.map((id) => {
      const node = input.nodes.find((n) => n.id === id);
      return node
        ? nodeBasis(node)
        : { id, addr: '', role: 'unknown', masterId: null, presence: 'unknown', slots: [], migrating: [], importing: [] };
    }),
    extra: input.extra ?? null,
  };
  const canonical = JSON.stringify({
    action: input.action,
    // A join wait's epoch is read again when the plan runs: it is how long to wait, not what to do.
    steps: input.steps.map((s) => ({
      node: s.node,
      command: s.command,
      waitFor: s.waitFor ? { node: s.waitFor.node, knowsIds: [...s.waitFor.knowsIds].sort() } : null,
      ...(s.moveKeys ? { moveKeys: s.moveKeys } : {}),
    })),
    checks: input.checks ?? [],
    verify: input.verify ?? null,
    risk: input.risk ?? null,
    basis,
  });
  const hash = createHash('sha256').update(canonical).digest('hex').slice(0, 12);
  return { id: `${ACTION_TAGS[input.action]}-${hash}`, basis };
}

/** The id alone (see identify). */
export function planId(input: FingerprintInput): string {
  return identify(input).id;
}
