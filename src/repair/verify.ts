import { parseInfoFields } from '../cluster/parse-info';
import { parseClusterNodes } from '../cluster/parse-nodes';
import { countSlots, SLOT_COUNT, subtractRanges } from '../cluster/slots';
import type { ClusterNodeLine } from '../cluster/types';
import { errorMessage } from '../errors';
import type { NodeLinks } from './node-links';
import type { JoinWait, PlanVerification } from './types';

export interface VerifyTarget {
  addr: string;
  /** Known for cluster members; unknown for a spare that just joined. */
  id?: string;
}

export interface PollOptions {
  links: NodeLinks;
  timeoutMs: number;
  /** Bound of each command of a poll round. */
  commandTimeoutMs: number;
  pollMs?: number;
  now?: () => number;
}

export interface PollOutcome {
  ok: boolean;
  ms: number;
  /** One line per node, as last observed: what was wrong, or that it was fine. */
  observed: string;
}

interface Observation {
  addr: string;
  info?: Record<string, string>;
  lines?: ClusterNodeLine[];
  replication?: Record<string, string>;
  config?: string;
  error?: string;
}

/**
 * Poll every counted node until the plan's expected state holds on all of them at once, or the
 * time is up. A node that stops answering counts as not done (never as skipped).
 */
export async function verifyPlan(spec: PlanVerification, targets: VerifyTarget[], options: PollOptions): Promise<PollOutcome> {
  if (targets.length === 0) return { ok: false, ms: 0, observed: 'no live node to verify on' };
  return pollUntil(options, async () => {
    const observations = await Promise.all(targets.map((t) => observe(t, spec, options)));
    const problems = observations.map((o) => ({ addr: o.addr, problems: problemsOf(o, spec, targets) }));
    const ok = problems.every((p) => p.problems.length === 0);
    return { ok, observed: problems.map((p) => `${p.addr}: ${p.problems.length ? p.problems.join('; ') : 'as expected'}`).join('\n') };
  });
}

/** After a CLUSTER MEET: wait until the joining node knows these ids and caught up with the epoch. */
export async function waitForJoin(wait: JoinWait, options: PollOptions): Promise<PollOutcome> {
  return pollUntil(options, async () => {
    try {
      const [nodesText, infoText] = await Promise.all([
        options.links.text(wait.node, ['CLUSTER', 'NODES'], options.commandTimeoutMs),
        options.links.text(wait.node, ['CLUSTER', 'INFO'], options.commandTimeoutMs),
      ]);
      const lines = parseClusterNodes(nodesText);
      const missing = wait.knowsIds.filter((id) => !lines.some((l) => l.id === id && !l.flags.includes('handshake')));
      const epoch = Number(parseInfoFields(infoText).fields['cluster_current_epoch'] ?? 0);
      const behind = wait.currentEpochAtLeast !== undefined && epoch < wait.currentEpochAtLeast;
      const parts = [
        ...(missing.length ? [`does not know ${missing.map((id) => id.slice(0, 8)).join(', ')} yet`] : []),
        ...(behind ? [`current epoch ${epoch} < ${wait.currentEpochAtLeast}`] : []),
      ];
      return { ok: parts.length === 0, observed: `${wait.node}: ${parts.join('; ') || 'joined'}` };
    } catch (err) {
      return { ok: false, observed: `${wait.node}: ${errorMessage(err)}` };
    }
  });
}

async function pollUntil(options: PollOptions, round: () => Promise<{ ok: boolean; observed: string }>): Promise<PollOutcome> {
  const now = options.now ?? Date.now;
  const started = now();
  for (;;) {
    const { ok, observed } = await round();
    const ms = now() - started;
    if (ok) return { ok, ms, observed };
    if (ms >= options.timeoutMs) return { ok: false, ms, observed };
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollMs ?? 100, Math.max(1, options.timeoutMs - ms))));
  }
}

async function observe(target: VerifyTarget, spec: PlanVerification, options: PollOptions): Promise<Observation> {
  const { links, commandTimeoutMs: t } = options;
  const needNodes = Boolean(
    spec.forgotten?.length ||
      spec.noOpenSlots ||
      spec.closedSlots?.length ||
      spec.slotOwners?.length ||
      spec.meshed ||
      spec.slotsServed?.length ||
      spec.replicaOf?.length,
  );
  const obs: Observation = { addr: target.addr };
  try {
    const replicaCheck = spec.replicaOf?.some((r) => r.node === target.addr);
    const [info, nodes, replication, config] = await Promise.all([
      links.text(target.addr, ['CLUSTER', 'INFO'], t),
      needNodes ? links.text(target.addr, ['CLUSTER', 'NODES'], t) : Promise.resolve(undefined),
      replicaCheck ? links.text(target.addr, ['INFO', 'replication'], t) : Promise.resolve(undefined),
      spec.config ? links.call(target.addr, ['CONFIG', 'GET', spec.config.parameter], t) : Promise.resolve(undefined),
    ]);
    obs.info = parseInfoFields(info).fields;
    if (nodes !== undefined) obs.lines = parseClusterNodes(nodes);
    if (replication !== undefined) obs.replication = parseInfoFields(replication).fields;
    if (Array.isArray(config)) obs.config = String(config[1] ?? '');
  } catch (err) {
    obs.error = errorMessage(err);
  }
  return obs;
}

function problemsOf(o: Observation, spec: PlanVerification, targets: VerifyTarget[]): string[] {
  if (o.error) return [`no answer: ${o.error}`];
  const out: string[] = [];
  const info = o.info ?? {};
  if (spec.clusterOk && (info['cluster_state'] !== 'ok' || Number(info['cluster_slots_ok']) !== SLOT_COUNT)) {
    out.push(`cluster_state:${info['cluster_state'] ?? '?'} cluster_slots_ok:${info['cluster_slots_ok'] ?? '?'}`);
  }
  const lines = o.lines ?? [];
  for (const id of spec.forgotten ?? []) {
    if (lines.some((l) => l.id === id)) out.push(`still lists ${id.slice(0, 8)}`);
  }
  if (spec.noOpenSlots) {
    const me = lines.find((l) => l.flags.includes('myself'));
    const open = [...(me?.migrating.map((m) => m.slot) ?? []), ...(me?.importing.map((m) => m.slot) ?? [])];
    if (open.length) out.push(`open slots ${open.join(', ')}`);
  }
  if (spec.closedSlots?.length) {
    const me = lines.find((l) => l.flags.includes('myself'));
    const open = [...(me?.migrating.map((m) => m.slot) ?? []), ...(me?.importing.map((m) => m.slot) ?? [])].filter((s) =>
      spec.closedSlots!.includes(s),
    );
    if (open.length) out.push(`slot${open.length === 1 ? '' : 's'} ${open.join(', ')} still open`);
  }
  for (const { slot, owner } of spec.slotOwners ?? []) {
    const routed = lines.find((l) => l.flags.includes('master') && l.slots.some(([a, b]) => slot >= a && slot <= b));
    if (routed?.id !== owner) out.push(`routes slot ${slot} to ${routed ? routed.id.slice(0, 8) : 'nobody'}, not ${owner.slice(0, 8)}`);
  }
  if (spec.meshed) {
    const missing = targets.filter(
      (t) =>
        t.id && t.addr !== o.addr && !lines.some((l) => l.id === t.id && !l.flags.includes('handshake') && !l.flags.includes('noaddr')),
    );
    if (missing.length) out.push(`does not know ${missing.map((t) => t.addr).join(', ')}`);
  }
  if (spec.slotsServed?.length) {
    const healthy = lines.filter((l) => l.flags.includes('master') && !l.flags.includes('fail') && !l.flags.includes('fail?'));
    const unserved = subtractRanges(
      spec.slotsServed,
      healthy.flatMap((l) => l.slots),
    );
    if (unserved.length) out.push(`${countSlots(unserved)} of the plan's slots not served in its view (first: ${unserved[0]![0]})`);
  }
  for (const r of spec.replicaOf ?? []) {
    if (r.node !== o.addr) continue;
    const me = lines.find((l) => l.flags.includes('myself'));
    if (!me?.flags.includes('slave') || me.masterId !== r.masterId) out.push(`not yet a replica of ${r.masterId.slice(0, 8)}`);
    else if (o.replication?.['master_link_status'] !== 'up') out.push(`master_link_status:${o.replication?.['master_link_status'] ?? '?'}`);
  }
  if (spec.config && o.config !== spec.config.value) out.push(`${spec.config.parameter} is ${o.config ?? '?'}`);
  return out;
}
