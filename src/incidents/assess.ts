// Pure decisions of the monitor: is anything off in a light probe, what did each node hold,
// which findings make an incident "the same" or "changed". No I/O here, so every rule is
// tested on fixtures without a cluster.
import { comparableAddr } from '../cluster/address';
import { parseClusterInfo } from '../cluster/parse-info';
import { firstSeenCoversAll, parsedClusterNodes, type ParsedClusterNodes } from '../cluster/parse-nodes';
import { formatRanges, type SlotRange } from '../cluster/slots';
import type { ClusterNodeLine, ClusterSnapshot } from '../cluster/types';
import type { AuditRecord } from '../audit/audit-log';
import { diagnose } from '../diagnosis/diagnose';
import type { DiagnosisReport, Finding } from '../diagnosis/types';
import { withPlans } from '../engine';
import { errorMessage } from '../errors';
import type { PlannedReport } from '../repair/types';
import { plural } from '../text';

export interface LightAssessment {
  /** Anything off: the monitor then runs a full diagnosis. */
  off: boolean;
  /** One short line per problem seen, for logs and the poll result. */
  reasons: string[];
}

/**
 * The light probe's verdict. Off when any node says `cluster_state:fail` or counts pfail/fail
 * slots, when any node is flagged `fail` (or a slot-owning master `fail?`), or when a node we
 * asked did not answer. An unanswered address counts only when some view lists it for real: a
 * `handshake` entry (a MEET in flight), a node the cluster has forgotten, or a configured seed
 * that is no longer a member is not an outage.
 */
export function assessLightProbe(snapshot: ClusterSnapshot): LightAssessment {
  const reasons: string[] = [];
  const views = parsedViews(snapshot);
  if (views.length === 0) {
    return {
      off: true,
      reasons: [`no node answered (${snapshot.probes.map((p) => `${p.addr}: ${p.error ?? 'no answer'}`).join('; ') || 'none asked'})`],
    };
  }
  const listed = new Set<string>();
  const flagged = new Map<string, string>();
  // Views share the line objects of nodes they print alike: look at each line's address once.
  // The parse says which lines each reply printed first, and which are flagged: a healthy
  // 1000-node cluster's million lines are then about 2000 looks, not a million.
  const readable = views.filter((v) => !v.error);
  const byParse = firstSeenCoversAll(readable.map((v) => v.parse));
  const visited = new Set<ClusterNodeLine>();
  const list = (line: ClusterNodeLine): void => {
    if (line.addr && !line.flags.includes('handshake') && !line.flags.includes('noaddr')) listed.add(comparableAddr(line.addr));
  };
  for (const view of views) {
    if (view.error) {
      reasons.push(`${view.addr}: unreadable reply (${view.error})`);
      continue;
    }
    if (view.info?.state === 'fail') reasons.push(`${view.addr} says cluster_state:fail`);
    if (view.info && (view.info.slotsPfail > 0 || view.info.slotsFail > 0)) {
      reasons.push(`${view.addr} counts ${view.info.slotsPfail} pfail and ${view.info.slotsFail} fail slots`);
    }
    if (byParse) for (const i of view.parse.firstSeen) list(view.lines[i]!);
    for (const line of byParse ? view.parse.failing.map((i) => view.lines[i]!) : view.lines) {
      if (!byParse && !visited.has(line)) {
        visited.add(line);
        list(line);
      }
      if (line.flags.includes('myself')) continue;
      const failed = line.flags.includes('fail');
      const suspect = line.flags.includes('fail?') && line.flags.includes('master') && line.slots.length > 0;
      if ((failed || suspect) && !flagged.has(line.id)) {
        flagged.set(
          line.id,
          `${line.addr || 'no address'} (${line.id.slice(0, 8)}) is flagged ${failed ? 'fail' : 'fail?'} by ${view.addr}`,
        );
      }
    }
  }
  reasons.push(...flagged.values());
  // A configured seed that does not answer and that no answering node lists is no longer a
  // member: configuration drift (reported as a risk by the full check), not an outage.
  for (const probe of snapshot.probes) {
    // An answer dropped by a read cap: the full diagnosis says what (READ_CAP_HIT).
    if (probe.status === 'discarded') reasons.push(`${probe.addr} ${probe.error ?? 'answered past a read cap'}`);
    if (probe.status !== 'unreachable') continue;
    if (listed.has(comparableAddr(probe.addr))) reasons.push(`${probe.addr} does not answer: ${probe.error ?? 'no reply'}`);
  }
  return { off: reasons.length > 0, reasons };
}

/**
 * Every address the cluster lists as a member (not a handshake in flight, not noaddr), plus the
 * nodes that answered. The next poll asks all of them, so a node that dies is still asked (and
 * shows as unreachable) even when it was the only seed.
 */
export function knownAddresses(snapshot: ClusterSnapshot): string[] {
  const out = new Set<string>();
  const views = parsedViews(snapshot);
  // Each distinct line once (see assessLightProbe).
  const byParse = firstSeenCoversAll(views.map((v) => v.parse));
  for (const view of views) {
    out.add(view.addr);
    for (const line of byParse ? view.parse.firstSeen.map((i) => view.lines[i]!) : view.lines) {
      if (line.addr && !line.flags.includes('handshake') && !line.flags.includes('noaddr')) out.add(line.addr);
    }
  }
  return [...out].sort();
}

/** What one node held at one poll: the material for "about 1,830 keys were on X at 03:21". */
export interface NodeState {
  id: string;
  addr: string;
  role: 'master' | 'replica' | 'unknown';
  masterId: string | null;
  /** The slots it claims itself (its own `myself` line). */
  slots: SlotRange[];
  /** DBSIZE, or null when the node did not report it. */
  keys: number | null;
  /** Epoch ms of the poll. */
  at: number;
}

/** One state per node that answered; a node that is down has no state this poll (its last one stays). */
export function nodeStates(snapshot: ClusterSnapshot, at: number): NodeState[] {
  const out: NodeState[] = [];
  for (const view of parsedViews(snapshot)) {
    const me = view.myself;
    if (!me) continue;
    out.push({
      id: me.id,
      addr: me.addr || view.addr,
      role: me.flags.includes('master') ? 'master' : me.flags.includes('slave') ? 'replica' : 'unknown',
      masterId: me.masterId,
      slots: me.slots,
      keys: typeof view.dbsize === 'number' ? view.dbsize : null,
      at,
    });
  }
  return out;
}

/** The incident is "the same" while this is unchanged: codes, nodes and slots; never prose or counters. */
export function findingsSignature(report: DiagnosisReport): string {
  return signatureOf(
    report.findings.filter((f) => f.category === 'fault'),
    false,
  );
}

/** Risks change when a code, its nodes or its wording (e.g. the coverage setting's value) change. */
export function riskSignature(findings: readonly Finding[]): string {
  return signatureOf(findings, true);
}

export function riskFindings(report: DiagnosisReport): Finding[] {
  return report.findings.filter((f) => f.category === 'risk');
}

function signatureOf(findings: readonly Finding[], withTitle: boolean): string {
  return findings
    .map((f) => [f.code, withTitle ? f.title : '', [...f.nodes].sort().join(','), formatRanges(f.slots)].join('|'))
    .sort()
    .join(';');
}

/** Worth an incident: something is broken now (risks alone never are). */
export function isIncident(report: DiagnosisReport): boolean {
  return report.verdict !== 'ok' && report.findings.some((f) => f.category === 'fault');
}

/** The root cause in a few words: the primary fault. */
export function causeOf(report: DiagnosisReport): { code: string; title: string } | null {
  const primary = report.findings.find((f) => f.category === 'fault');
  return primary ? { code: primary.code, title: primary.title } : null;
}

/**
 * The report when not one node answered: the rules would read "no slots assigned" into an empty
 * view, while the truth is that nothing could be asked (cluster down, or the network to it).
 */
export function noAnswerReport(snapshot: ClusterSnapshot): PlannedReport {
  const report = diagnose(snapshot);
  const asked = snapshot.probes.map((p) => `${p.addr}: ${p.error ?? 'no answer'}`);
  const finding: Finding = {
    code: 'NODE_UNREACHABLE',
    severity: 'critical',
    category: 'fault',
    title: `No node of ${snapshot.cluster} answered`,
    detail:
      `redis-medic asked ${plural(asked.length, 'node')} and none answered: ${asked.join('; ')}. ` +
      'Either every node is down, or redis-medic cannot reach them (network, firewall, credentials).',
    evidence: snapshot.probes.map((p) => `[${p.addr}] redis-medic: ${p.error ?? 'no answer'}`),
    nodes: [],
    slots: [],
  };
  return withPlans({ ...report, verdict: 'down', primary: 'NODE_UNREACHABLE', findings: [finding] }, { fixes: [] });
}

export interface FixUsed {
  /** What ran: the plan title, else its action, else its id. */
  title: string;
  status: string;
  by?: string;
  at: string;
}

/**
 * The repairs that ended the incident, from the audit trail: every `repair.finished` with status
 * repaired since the incident opened, in order (giving a dead master's slots away and then
 * forgetting its ghost are both part of the fix); else the last attempt. Null when the cluster
 * recovered without a repair by redis-medic.
 */
export function fixUsed(records: readonly AuditRecord[], cluster: string, openedAt: number): FixUsed | null {
  const repairs = records.filter((r) => r.action === 'repair.finished' && r.cluster === cluster && Date.parse(r.at) >= openedAt - 1000);
  const repaired = repairs.filter((r) => r.details?.status === 'repaired');
  const chosen = repaired.length ? repaired : repairs.slice(-1);
  const last = chosen[chosen.length - 1];
  if (!last) return null;
  const titleOf = (r: AuditRecord): string => firstString(r.details?.title, r.details?.action, r.details?.planId) ?? 'a repair';
  const approvers = [...new Set(chosen.map((r) => firstString(r.details?.approvedBy, r.actor)).filter((a): a is string => Boolean(a)))];
  return {
    title: chosen.map(titleOf).join(', then '),
    status: firstString(last.details?.status) ?? 'finished',
    // One approver is named; several are left to the audit log rather than guessed at.
    ...(approvers.length === 1 ? { by: approvers[0]! } : {}),
    at: last.at,
  };
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((v): v is string => typeof v === 'string' && v.length > 0);
}

// ---- parsing the light probe, tolerant of one bad node -----------------------------------

interface ParsedView {
  addr: string;
  lines: ClusterNodeLine[];
  parse: ParsedClusterNodes;
  myself?: ClusterNodeLine;
  info?: ReturnType<typeof parseClusterInfo>;
  dbsize?: number;
  error?: string;
}

/** The probe's replies as collection parsed them (once per snapshot, shared with the diagnosis). */
function parsedViews(snapshot: ClusterSnapshot): ParsedView[] {
  return snapshot.probes
    .filter((p) => p.status === 'ok' && p.replies)
    .map((probe) => {
      const replies = probe.replies!;
      const parsed = parsedClusterNodes(replies);
      const view: ParsedView = {
        addr: probe.addr,
        lines: [],
        parse: parsed,
        ...(typeof replies.dbsize === 'number' ? { dbsize: replies.dbsize } : {}),
      };
      if (parsed.error) {
        view.error = errorMessage(parsed.error);
        return view;
      }
      view.lines = parsed.lines;
      if (parsed.myself) view.myself = parsed.myself;
      if (parsed.myself?.addr) view.addr = parsed.myself.addr;
      try {
        if (replies.clusterInfo) view.info = parseClusterInfo(replies.clusterInfo);
      } catch (err) {
        view.error = errorMessage(err);
      }
      return view;
    });
}
