import { countSlots, mergeRanges, type SlotRange } from '../cluster/slots';
import type { ClusterNodeLine, ClusterSnapshot } from '../cluster/types';
import { buildModel, seenLines, type ClusterModel, type ModelNode } from './model';
import { addressesChanged } from './rules/addresses-changed';
import { busPortUnreachable } from './rules/bus-port';
import { fullCoverageSetting } from './rules/full-coverage';
import { ghostNodes } from './rules/ghost-nodes';
import { masterDown } from './rules/master-down';
import { nodeKeepsJoining } from './rules/node-keeps-joining';
import { nodeUnreachable } from './rules/node-unreachable';
import { nodesDisagree } from './rules/nodes-disagree';
import { openSlots } from './rules/open-slots';
import { quorumLost, quorumState } from './rules/quorum-lost';
import { masterWithoutReplica, masterWithoutSlots, replicaSameHost } from './rules/replica-risks';
import { replicaDown } from './rules/replica-down';
import { replicationBroken } from './rules/replication-broken';
import { seedNotInCluster } from './rules/seed-not-in-cluster';
import { slotsUnassigned } from './rules/slots-unassigned';
import { splitBrain } from './rules/split-brain';
import { nodeIdMismatch, nodeNotConfirmed, nodeOutOfScope, readCapHit } from './rules/trust';
import { joiningNodes, nodeJoining, replicaTransitions, reshardingInProgress } from './rules/transitions';
import {
  FINDING_PRECEDENCE,
  type CoverageReport,
  type DiagnosisReport,
  type Finding,
  type NodeReport,
  type Severity,
  type Verdict,
} from './types';
import { plural } from '../text';
import { runSteps, runStepsInTurns } from '../turns';

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Snapshot in, report out: pure, so fixtures and live clusters go through the same code. */
export function diagnose(snapshot: ClusterSnapshot): DiagnosisReport {
  return diagnoseModel(buildModel(snapshot));
}

/** The same, from a model already built (the engine hands the one model to the planner too). */
export function diagnoseModel(model: ClusterModel): DiagnosisReport {
  return runSteps(reportSteps(model));
}

/**
 * The same report, with a turn of the event loop between rules once about `sliceMs` of work has
 * run: in a process that also acks Slack, a big cluster's rules are not one long block.
 */
export function diagnoseModelInTurns(model: ClusterModel, sliceMs = 20): Promise<DiagnosisReport> {
  return runStepsInTurns(reportSteps(model), sliceMs);
}

function* reportSteps(model: ClusterModel): Generator<void, DiagnosisReport, void> {
  const { snapshot } = model;
  const coverage = coverageOf(model);
  yield;
  // Slots without a live owner: with quorum lost every slot is refused, but only these need one.
  const findings = sortFindings(
    yield* ruleSteps(model, countSlots(mergeRanges([...coverage.servedByFailedMaster, ...coverage.unassigned]))),
  );
  yield;
  // A node being added says cluster_state:fail until it has learnt the slots: not the cluster's state.
  const joining = joiningNodes(model);
  const reachableStates = model.views
    .filter((v) => !(v.myself && joining.has(v.myself.id)))
    .map((v) => v.info?.state)
    .filter(Boolean);
  const primary = findings.find((f) => f.category === 'fault') ?? null;
  const verdict: Verdict = reachableStates.includes('fail') || coverage.uncovered.length > 0 ? 'down' : primary ? 'degraded' : 'ok';
  return {
    cluster: snapshot.cluster,
    checkedAt: snapshot.takenAt,
    durationMs: snapshot.durationMs,
    verdict,
    primary: primary?.code ?? null,
    nodes: byRoleThenAddr(model).map(nodeReport),
    coverage,
    findings,
    ...(snapshot.offline ? { offline: true, limitations: offlineLimitations(model) } : {}),
  };
}

/** The rules in order, yielding between them (see diagnoseModelInTurns). */
function* ruleSteps(model: ClusterModel, uncoveredSlots: number): Generator<void, Finding[], void> {
  const quorum = quorumLost(model);
  const lostQuorum = quorum.length > 0;
  const rules: Array<() => Finding[]> = [
    () => addressesChanged(model),
    () => quorum,
    () => masterDown(model, lostQuorum),
    () => splitBrain(model),
    () => slotsUnassigned(model),
    () => nodeKeepsJoining(model),
    () => nodesDisagree(model),
    () => openSlots(model),
    () => ghostNodes(model),
    () => replicaDown(model),
    () => replicationBroken(model),
    () => busPortUnreachable(model),
    () => masterWithoutReplica(model),
    () => replicaSameHost(model),
    () => masterWithoutSlots(model),
    () => seedNotInCluster(model),
    () => nodeIdMismatch(model),
    () => nodeNotConfirmed(model),
    () => readCapHit(model),
    () => nodeOutOfScope(model),
    () => fullCoverageSetting(model, uncoveredSlots, lostQuorum),
    () => reshardingInProgress(model),
    () => replicaTransitions(model),
    () => nodeJoining(model),
  ];
  const findings: Finding[] = [];
  for (const rule of rules) {
    yield;
    findings.push(...rule());
  }
  // Unreachable nodes that a fault (or a failover under way) already explains are not reported twice.
  const explained = new Set(
    findings.filter((f) => (f.category === 'fault' || f.category === 'transition') && f.code !== 'NODES_DISAGREE').flatMap((f) => f.nodes),
  );
  yield;
  return [...findings, ...nodeUnreachable(model, explained)];
}

function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || FINDING_PRECEDENCE.indexOf(a.code) - FINDING_PRECEDENCE.indexOf(b.code),
  );
}

/**
 * What clients can reach. With quorum lost (a majority of slot-owning masters down or `fail?`),
 * Redis puts every node that cannot reach a majority in `cluster_state:fail`, and such a node
 * refuses every query (CLUSTERDOWN): then a live master's own slots count as served only if its
 * own CLUSTER INFO still says ok (the few seconds before node-timeout flags the others); a
 * suspect owner's slots are owned by a failed master.
 */
function coverageOf(model: ClusterModel): CoverageReport {
  const minority = quorumState(model).lost;
  const uncovered: SlotRange[] = [];
  const failedOwner: SlotRange[] = [];
  const noOwner: SlotRange[] = [];
  let assigned = 0;
  let pfail = 0;
  let fail = 0;
  let ok = 0;
  for (const run of model.slotRuns) {
    const count = run.to - run.from + 1;
    const range: SlotRange = [run.from, run.to];
    if (run.owner && !run.disowned) assigned += count;
    if (run.owner?.health === 'down') fail += count;
    else if (run.owner?.health === 'suspect' && (run.served || minority)) pfail += count;
    const suspectOwner = minority && run.owner?.health === 'suspect';
    const refused = minority && !suspectOwner && run.served && run.owner?.own?.info?.state !== 'ok';
    if (run.served && !suspectOwner && !refused) {
      if (run.owner?.health === 'up') ok += count;
      continue;
    }
    uncovered.push(range);
    if (refused) continue; // it has a live owner: nobody needs to take these slots over
    (!run.owner || run.disowned ? noOwner : failedOwner).push(range);
  }
  return {
    assigned,
    ok,
    pfail,
    fail,
    uncovered: mergeRanges(uncovered),
    servedByFailedMaster: mergeRanges(failedOwner),
    unassigned: mergeRanges(noOwner),
  };
}

function nodeReport(node: ModelNode): NodeReport {
  const own = node.own;
  const flags = own?.myself?.flags ?? mostSevereFlags(node);
  const replication = own?.replication ?? {};
  const coverage = own?.config['cluster-require-full-coverage'];
  const timeout = own?.config['cluster-node-timeout'];
  // Built field by field in the report's key order (no object spreads: 20,000 nodes make 20,000 of these).
  const report: NodeReport = { id: node.id, addr: node.addr } as NodeReport;
  if (node.announcedAddr) report.announcedAddr = node.announcedAddr;
  report.host = node.host;
  report.port = node.port;
  report.busPort = node.busPort;
  report.role = node.role;
  report.masterId = node.masterId;
  report.flags = flags.filter((f) => f !== 'myself');
  report.reachable = node.reachable;
  if (node.probe?.error) report.error = node.probe.error;
  report.clusterState = own?.info?.state ?? null;
  report.health = node.health;
  report.slots = node.slots;
  report.epoch = node.epoch;
  report.link = own ? 'connected' : (seenLines(node)[0]?.linkState ?? null);
  report.keys = own?.probe.replies?.dbsize ?? null;
  report.migrating = own?.myself?.migrating ?? [];
  report.importing = own?.myself?.importing ?? [];
  if (replication['role'] === 'slave') {
    report.replication = { linkStatus: replication['master_link_status'], offset: numberOrUndefined(replication['slave_repl_offset']) };
  } else if (replication['master_repl_offset']) {
    report.replication = { offset: numberOrUndefined(replication['master_repl_offset']) };
  }
  if (coverage) report.requireFullCoverage = coverage === 'yes';
  if (timeout) report.nodeTimeoutMs = Number(timeout);
  return report;
}

function mostSevereFlags(node: ModelNode): string[] {
  // The first line of the highest rank (what a stable sort by rank puts first).
  let best: ClusterNodeLine | undefined;
  let bestRank = -1;
  for (const line of seenLines(node)) {
    const r = rank(line.flags);
    if (r > bestRank) {
      best = line;
      bestRank = r;
      if (r === 2) break;
    }
  }
  return best?.flags ?? [];
}

/** A line's flags ranked by severity: fail, then fail?, then the rest (a module function: one closure per node costs under tsx). */
function rank(flags: readonly string[]): number {
  return flags.includes('fail') ? 2 : flags.includes('fail?') ? 1 : 0;
}

function numberOrUndefined(text: string | undefined): number | undefined {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) ? n : undefined;
}

/** What String.prototype.localeCompare compares with, made once. */
const COLLATOR = new Intl.Collator();

/** The nodes in report order: masters in slot order, each followed by its replicas; then everything else by address. */
function byRoleThenAddr(model: ClusterModel): ModelNode[] {
  // Each node's key is made once, not once per comparison.
  const keyed = [...model.nodes.values()].map((n) => {
    const master = n.role === 'replica' && n.masterId ? model.nodes.get(n.masterId) : n;
    const firstSlot = master?.slots[0]?.[0];
    const group = firstSlot === undefined ? `z${master?.addr ?? n.addr}` : `a${String(firstSlot).padStart(5, '0')}`;
    return { n, key: `${group}|${n.role === 'master' ? 0 : 1}|${n.addr}` };
  });
  return keyed.sort((a, b) => COLLATOR.compare(a.key, b.key)).map((k) => k.n);
}

function offlineLimitations(model: ClusterModel): string[] {
  const views = model.views.length;
  const listed = model.nodes.size;
  const notes = [
    `Analysed ${plural(views, 'pasted view')} of ${listed} listed nodes; nobody was asked live.`,
    "The other nodes' own cluster_state, their views, open slots on them, replication links and key counts are unknown.",
    'A node this view flags fail? or fail may be reachable from elsewhere (a partition), and one it shows healthy may be down since.',
  ];
  if (!model.views.some((v) => v.info)) notes.push('No CLUSTER INFO was pasted: cluster_state is inferred from the slots, not read.');
  for (const view of model.views) {
    const myself = view.myself;
    if (!myself || myself.addr) continue;
    const known = model.nodes.get(myself.id)?.addr;
    notes.push(
      `The pasted view of ${myself.id.slice(0, 8)} does not name its own address (it prints \`${myself.raw.split(/\s+/)[1] ?? ':0'}\`: it has not learnt its IP yet)` +
        (known
          ? `; the other views list it at ${known}, and commands for it name that address.`
          : ': no command can be addressed to it, so no plan sends it one. Paste its output under its redis-cli prompt (`10.0.0.5:6379> cluster nodes`) to name it.'),
    );
  }
  return notes;
}
