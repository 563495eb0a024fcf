import { formatRanges } from '../cluster/slots';
import type { DiagnosisReport, NodeReport } from '../diagnosis/types';
import { nodeBasis } from './fingerprint';
import type { FixPlan, NodeBasis, NodePresence } from './types';

const PRESENCE_WORDS: Record<NodePresence, string> = {
  up: 'up',
  suspect: 'answering but flagged failing by a peer',
  down: 'down',
  'cut-off': 'unreachable from here while a peer still talks to it',
  unknown: 'unknown',
};

/**
 * Pure: which of the preconditions an approved plan was made on no longer hold in `report`, in
 * words a person can act on ("127.0.0.1:7002 (9f3a1c2e) answers again (it was down)"). Empty when
 * every node the plan involves is as it was; then `stepChanges` says how the plan itself differs.
 */
export function basisChanges(approved: Pick<FixPlan, 'basis'>, report: Pick<DiagnosisReport, 'nodes'>): string[] {
  const out: string[] = [];
  for (const was of approved.basis?.nodes ?? []) {
    const node = report.nodes.find((n) => n.id === was.id);
    const label = `${was.addr || 'no address'} (${was.id.slice(0, 8)})`;
    if (!node) {
      if (was.presence !== 'unknown') out.push(`${label} is no longer listed by any node`);
      continue;
    }
    out.push(...nodeChanges(label, was, nodeBasis(node), node));
  }
  return out;
}

function nodeChanges(label: string, was: NodeBasis, now: NodeBasis, node: NodeReport): string[] {
  const out: string[] = [];
  if (was.addr && now.addr && was.addr !== now.addr) out.push(`${label} now announces ${now.addr}`);
  if (was.presence !== now.presence) {
    if (now.presence === 'up' && was.presence !== 'unknown')
      out.push(`${label} answers again (it was ${PRESENCE_WORDS[was.presence]} when the plan was made)`);
    else out.push(`${label} is ${PRESENCE_WORDS[now.presence]} now (it was ${PRESENCE_WORDS[was.presence]} when the plan was made)`);
  }
  if (was.role !== now.role || was.masterId !== now.masterId) {
    const role = (b: NodeBasis): string =>
      b.role === 'replica' ? `a replica of ${b.masterId?.slice(0, 8) ?? 'no master'}` : `a ${b.role}`;
    out.push(`${label} is ${role(now)} now (it was ${role(was)})`);
  }
  if (JSON.stringify(was.slots) !== JSON.stringify(now.slots)) {
    out.push(
      `${label} serves ${now.slots.length ? `slots ${formatRanges(now.slots)}` : 'no slots'} now (it served ${was.slots.length ? formatRanges(was.slots) : 'none'})`,
    );
  }
  if (JSON.stringify([was.migrating, was.importing]) !== JSON.stringify([now.migrating, now.importing])) {
    const open = node.migrating.length + node.importing.length;
    out.push(`${label} has ${open === 0 ? 'no open slot' : `${open} open slot(s)`} now (the migrations it had changed)`);
  }
  return out;
}

/** How the plan offered now for the same action differs from the approved one, when its basis still holds. */
export function stepChanges(approved: Pick<FixPlan, 'action' | 'steps' | 'basis'>, offered: readonly FixPlan[]): string[] {
  const same = offered.filter((p) => p.action === approved.action);
  if (same.length === 0) return ['the current diagnosis offers no plan of this kind any more'];
  const line = (s: { node: string; command: string[] }): string => `${s.node}> ${s.command.join(' ')}`;
  const was = approved.steps.map(line);
  const closest = same.map((p) => ({ plan: p, now: p.steps.map(line) })).sort((a, b) => overlap(b.now, was) - overlap(a.now, was))[0]!;
  const gone = was.filter((l) => !closest.now.includes(l));
  const added = closest.now.filter((l) => !was.includes(l));
  if (gone.length || added.length) {
    return [
      `its steps differ now (${[...gone.slice(0, 2).map((l) => `no longer \`${l}\``), ...added.slice(0, 2).map((l) => `now \`${l}\``)].join(', ')}): approve ${closest.plan.id} instead`,
    ];
  }
  if (JSON.stringify(approved.basis?.extra ?? null) !== JSON.stringify(closest.plan.basis?.extra ?? null)) {
    return [`what it answers changed (the slots or nodes it is for): approve ${closest.plan.id} instead`];
  }
  return [`its checks, verification or risk changed: approve ${closest.plan.id} instead`];
}

function overlap(a: string[], b: string[]): number {
  return a.filter((x) => b.includes(x)).length;
}
