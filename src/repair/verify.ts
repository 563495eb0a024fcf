import pLimit from 'p-limit';
import { MAX_NODES_IN_FLIGHT } from '../cluster/limits';
import { parseInfoFields } from '../cluster/parse-info';
import { NodeLineCache, parseClusterNodes } from '../cluster/parse-nodes';
import { countSlots, SLOT_COUNT, subtractRanges } from '../cluster/slots';
import type { ClusterNodeLine } from '../cluster/types';
import { errorMessage } from '../errors';
import { slicedWork } from '../turns';
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

/** What a node answered, before it is parsed. */
interface Answer {
  addr: string;
  info?: string;
  nodes?: string | undefined;
  replication?: string | undefined;
  config?: unknown;
  error?: string;
}

/**
 * Poll every counted node until the plan's expected state holds on all of them at once, or the
 * time is up. A node that stops answering counts as not done (never as skipped), and so does a
 * node whose turn in a round comes after the time is up (a round asks 128 nodes at once: nodes
 * that do not answer would otherwise hold a 1000-node round for 8 command timeouts past it). A
 * round always has at least one command timeout to ask everyone.
 */
export async function verifyPlan(spec: PlanVerification, targets: VerifyTarget[], options: PollOptions): Promise<PollOutcome> {
  if (targets.length === 0) return { ok: false, ms: 0, observed: 'no live node to verify on' };
  const targetIds = targets.filter((t) => t.id !== undefined);
  const inFlight = pLimit(MAX_NODES_IN_FLIGHT);
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  return pollUntil(options, async () => {
    const cutoff = Math.max(deadline, now() + options.commandTimeoutMs);
    // A round of a 1000-node cluster reads 1000 CLUSTER NODES replies, a million lines: the lines
    // every node prints alike are parsed once per round (a cache per round, so no round's replies
    // outlive it), and each answer is parsed and judged as it lands, with a turn of the event loop
    // every few milliseconds. Parsed all at once, uncached, a round held the loop for 5 s (and
    // Slack's acks with it, in `start`). Like a collection, it asks at most so many nodes at once.
    const cache = new NodeLineCache();
    const inTurn = slicedWork();
    const problems = await Promise.all(
      targets.map(async (t) => {
        const answer = await inFlight(() =>
          now() < cutoff ? ask(t, spec, options) : { addr: t.addr, error: 'not asked: the verification time ran out before its turn' },
        );
        return inTurn(() => ({ addr: t.addr, problems: problemsOf(observationOf(answer, cache), spec, targetIds) }));
      }),
    );
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

async function ask(target: VerifyTarget, spec: PlanVerification, options: PollOptions): Promise<Answer> {
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
  try {
    const replicaCheck = spec.replicaOf?.some((r) => r.node === target.addr);
    const [info, nodes, replication, config] = await Promise.all([
      links.text(target.addr, ['CLUSTER', 'INFO'], t),
      needNodes ? links.text(target.addr, ['CLUSTER', 'NODES'], t) : Promise.resolve(undefined),
      replicaCheck ? links.text(target.addr, ['INFO', 'replication'], t) : Promise.resolve(undefined),
      spec.config ? links.call(target.addr, ['CONFIG', 'GET', spec.config.parameter], t) : Promise.resolve(undefined),
    ]);
    return { addr: target.addr, info, nodes, replication, config };
  } catch (err) {
    return { addr: target.addr, error: errorMessage(err) };
  }
}

function observationOf(answer: Answer, cache: NodeLineCache): Observation {
  const obs: Observation = { addr: answer.addr };
  if (answer.error !== undefined) return { ...obs, error: answer.error };
  try {
    obs.info = parseInfoFields(answer.info ?? '').fields;
    if (answer.nodes !== undefined) obs.lines = parseClusterNodes(answer.nodes, 0, cache);
    if (answer.replication !== undefined) obs.replication = parseInfoFields(answer.replication).fields;
    if (Array.isArray(answer.config)) obs.config = String(answer.config[1] ?? '');
  } catch (err) {
    obs.error = errorMessage(err);
  }
  return obs;
}

/** `targetIds`: the targets whose id is known (those `meshed` asks each node to know). */
function problemsOf(o: Observation, spec: PlanVerification, targetIds: VerifyTarget[]): string[] {
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
    // A set, not a scan of the lines per target: 1000 targets x 1000 lines, for each of 1000 nodes.
    const known = new Set(lines.filter((l) => !l.flags.includes('handshake') && !l.flags.includes('noaddr')).map((l) => l.id));
    const missing = targetIds.filter((t) => t.addr !== o.addr && !known.has(t.id!));
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
