import { byHandLines, commandText, isByHand } from '../repair/step-text';
import { countSlots, formatRanges } from '../cluster/slots';
import { truncate } from '../text';
import type { Finding, NodeReport } from './types';
import type { PlannedReport } from '../repair/types';

/** The human report: what an on-call engineer reads first at 3 a.m., most important first. */
export function formatReport(report: PlannedReport, options: { evidence?: number } = {}): string {
  const maxEvidence = options.evidence ?? 6;
  const out: string[] = [];
  const { coverage } = report;
  out.push(
    `Cluster ${report.cluster}: ${report.verdict.toUpperCase()}${report.offline ? ' (offline analysis of a paste)' : ''}  (checked ${report.checkedAt}, ${report.durationMs} ms)`,
  );
  out.push('');
  const primary = report.findings.find((f) => f.code === report.primary);
  if (primary) {
    out.push(`Root cause: ${primary.title}  [${primary.code}]`);
    out.push(...wrap(primary.detail, '  '));
    out.push('  Evidence:');
    out.push(...primary.evidence.slice(0, maxEvidence).map((e) => `    ${e}`));
    if (primary.evidence.length > maxEvidence) out.push(`    (${primary.evidence.length - maxEvidence} more lines in --json)`);
  } else {
    out.push(...wrap(noFaultText(report), ''));
  }
  out.push('');
  out.push(
    `Slots: ${coverage.ok} of 16384 ok` +
      (coverage.uncovered.length ? `; NOT SERVED: ${formatRanges(coverage.uncovered)} (${countSlots(coverage.uncovered)} slots)` : '') +
      (coverage.servedByFailedMaster.length ? `; owned by a failed master: ${formatRanges(coverage.servedByFailedMaster)}` : '') +
      (coverage.unassigned.length ? `; no owner: ${formatRanges(coverage.unassigned)}` : ''),
  );
  out.push('');
  out.push(...nodeTable(report.nodes));
  const others = report.findings.filter((f) => f !== primary);
  if (others.length) {
    out.push('');
    out.push('Other findings:');
    for (const f of others) out.push(...findingSummary(f));
  }
  if (report.limitations?.length) {
    out.push('');
    out.push('What one view cannot tell:');
    out.push(...report.limitations.map((l) => `  - ${l}`));
  }
  out.push('');
  out.push(...nextSteps(report));
  return out.join('\n');
}

/**
 * The headline when nothing is broken: a healthy cluster, or one passing through a transition
 * (a failover under way, a sync, a resharding, a node joining), said as such with when it ends.
 */
export function noFaultText(report: PlannedReport): string {
  const transitions = report.findings.filter((f) => f.category === 'transition');
  if (transitions.length === 0) return 'No fault found: every node answers and every slot is served.';
  const items = transitions.map(
    (f) => `${f.title}${f.transition?.until ? ` (should be over by ${f.transition.until.slice(11, 19)} UTC)` : ''}`,
  );
  return (
    `No fault, ${transitions.length === 1 ? 'a transition' : `${transitions.length} transitions`} under way: ${items.join('; ')}. ` +
    'Redis finishes these by itself; redis-medic names them a fault only if they outlast their bound. Re-check in a little while.'
  );
}

function nodeTable(nodes: NodeReport[]): string[] {
  return ['Nodes:', ...nodeTableRows(nodes).map((line) => `  ${line}`)];
}

/**
 * The per-node table, header first, columns padded: the CLI report and the Slack thread show
 * the same table. `slotTextMax` cuts a long slot list (Slack's code blocks are narrow).
 */
export function nodeTableRows(nodes: NodeReport[], options: { slotTextMax?: number } = {}): string[] {
  const slots = (n: NodeReport): string => {
    if (!n.slots.length) return '-';
    const text = formatRanges(n.slots);
    return options.slotTextMax ? truncate(text, options.slotTextMax) : text;
  };
  const rows = nodes.map((n) => [
    n.addr || '(no address)',
    n.id.slice(0, 8),
    n.role === 'replica' ? `replica of ${nodes.find((m) => m.id === n.masterId)?.addr ?? n.masterId?.slice(0, 8) ?? '?'}` : n.role,
    n.reachable === null ? 'not asked' : n.reachable ? (n.clusterState ? `state:${n.clusterState}` : 'answers') : 'NO ANSWER',
    n.health,
    slots(n),
    n.keys === null ? '-' : String(n.keys),
    n.flags.join(',') || '-',
  ]);
  const header = ['NODE', 'ID', 'ROLE', 'ANSWER', 'HEALTH', 'SLOTS', 'KEYS', 'FLAGS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function findingSummary(f: Finding): string[] {
  return [`  [${f.severity}] ${f.title}  [${f.code}]`, ...wrap(f.detail, '      ')];
}

function nextSteps(report: PlannedReport): string[] {
  if (report.planningError) return [`Fixes: none listed: ${report.planningError}. The findings above still stand.`];
  const executable = report.fixes.filter((p) => p.executable);
  if (report.fixes.length === 0) {
    return report.primary ? ['Next: no automatic fix applies; follow the root cause above.'] : ['Next: nothing to do.'];
  }
  const out = ['Fixes (review, then: redis-medic fix <cluster> --plan <id>):'];
  for (const plan of report.fixes) {
    out.push(`  ${plan.id}  ${plan.title}  (risk ${plan.risk}${plan.executable ? '' : ', manual'})`);
    out.push(`      data loss: ${plan.dataLoss.text}`);
    for (const step of plan.steps) out.push(`      ${step.node}> ${commandText(step)}`);
    if (isByHand(plan))
      out.push('      what you do (redis-medic cannot do this itself):', ...byHandLines(plan).map((l) => `        - ${l}`));
  }
  if (executable.length === 0) out.push('  (none of these can be run by redis-medic itself)');
  return out;
}

function wrap(text: string, indent: string, width = 100): string[] {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let current = '';
  for (const word of words) {
    if (current && current.length + word.length + 1 > width - indent.length) {
      lines.push(indent + current);
      current = word;
    } else {
      current = current ? `${current} ${word}` : word;
    }
  }
  if (current) lines.push(indent + current);
  return lines;
}
