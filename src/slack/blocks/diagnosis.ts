import { countSlots, formatRanges } from '../../cluster/slots';
import type { Finding, NodeReport, Verdict } from '../../diagnosis/types';
import { byHandLines, commandText, isByHand } from '../../repair/step-text';
import type { FixPlan, KeyMove, PlannedReport } from '../../repair/types';
import { context, header, section, type ActionsBlock, type Block, type Button, type ConfirmationDialog, type MessageBody } from './kit';
import { noFaultText, nodeTableRows } from '../../diagnosis/format-text';
import { codeBlock, escapeMrkdwn, fallbackText, LIMITS, mention, permalinkText, truncate } from './text';
import { ACTIONS } from '../ids';
import { plural } from '../../text';

export const VERDICT_ICON: Record<Verdict, string> = {
  ok: ':large_green_circle:',
  degraded: ':large_orange_circle:',
  down: ':red_circle:',
};

/** The root message while the diagnosis runs; edited in place with each progress note. */
export function diagnosingMessage(cluster: string, note: string): MessageBody {
  const text = `Diagnosing *${escapeMrkdwn(cluster)}*: ${escapeMrkdwn(note)}`;
  return { text: fallbackText(`Diagnosing ${cluster}: ${note}`), blocks: [section(truncate(`:mag: ${text}`, LIMITS.sectionText))] };
}

export function diagnosisFailedMessage(cluster: string, error: string, rediagnoseValue: string): MessageBody {
  return {
    text: fallbackText(`Could not diagnose ${cluster}`),
    blocks: [
      section(`:warning: *Could not diagnose ${escapeMrkdwn(cluster)}*`),
      section(codeBlock(error.split('\n'))),
      section('Next: check that the seed nodes in the configuration are reachable from redis-medic, then re-diagnose.'),
      { type: 'actions', elements: [rediagnoseButton(rediagnoseValue)] },
    ],
  };
}

export interface RootOptions {
  /** audit: prevention checks only (risks), no root cause. */
  kind: 'diagnose' | 'audit';
  requestedBy: string | null;
  /** Extra context line (e.g. "Repaired by @x"). */
  note?: string;
}

/** The root message: verdict, what is not served, and the root cause. */
export function rootMessage(report: PlannedReport, options: RootOptions): MessageBody {
  const cluster = escapeMrkdwn(report.cluster);
  const verdict = report.verdict.toUpperCase();
  const offline = report.offline ? ' (offline analysis of a paste)' : '';
  const blocks: Block[] = [];
  if (options.kind === 'audit') {
    const risks = report.findings.filter((f) => f.category === 'risk');
    blocks.push(header(truncate(`Prevention checks: ${report.cluster}`, LIMITS.headerText)));
    blocks.push(
      section(
        risks.length
          ? `*${plural(risks.length, 'risk')} found* on *${cluster}*: ${escapeMrkdwn(risks.map((r) => r.title).join('; '))}`.slice(
              0,
              LIMITS.sectionText,
            )
          : `No risk found on *${cluster}*: every master has a replica on another host, the bus ports answer, and the coverage setting is what it should be.`,
      ),
    );
    blocks.push(
      section(
        `Current state: ${VERDICT_ICON[report.verdict]} *${verdict}*${report.primary ? ` (\`${report.primary}\`: run \`/redis-diagnose ${cluster}\`)` : ''}`,
      ),
    );
  } else {
    blocks.push(header(truncate(`${report.cluster}: ${verdict}${offline}`, LIMITS.headerText)));
    const primary = report.findings.find((f) => f.code === report.primary);
    blocks.push(
      section(
        truncate(
          primary
            ? `${VERDICT_ICON[report.verdict]} *Root cause:* ${escapeMrkdwn(primary.title)} \`${primary.code}\`\n${escapeMrkdwn(primary.detail)}`
            : `${VERDICT_ICON[report.verdict]} ${escapeMrkdwn(noFaultText(report))}`,
          LIMITS.sectionText,
        ),
      ),
    );
    blocks.push(section(truncate(coverageText(report), LIMITS.sectionText)));
  }
  if (report.limitations?.length) {
    blocks.push(context(truncate(report.limitations.map(escapeMrkdwn).join(' '), LIMITS.contextText)));
  }
  const asked = options.requestedBy ? ` · asked by ${mention(options.requestedBy)}` : '';
  blocks.push(
    context(
      truncate(
        `Checked ${escapeMrkdwn(report.checkedAt)} in ${report.durationMs} ms${asked} · evidence, nodes and fixes in the thread${options.note ? ` · ${options.note}` : ''}`,
        LIMITS.contextText,
      ),
    ),
  );
  const text =
    options.kind === 'audit'
      ? `Prevention checks for ${report.cluster}`
      : `${report.cluster}: ${verdict}${report.primary ? ` (${report.primary})` : ''}`;
  return { text: fallbackText(text), blocks };
}

export function coverageText(report: PlannedReport): string {
  const { coverage } = report;
  if (coverage.uncovered.length === 0)
    return `*Slots:* all 16384 served (${coverage.ok} ok${coverage.pfail ? `, ${coverage.pfail} on a suspect master` : ''}).`;
  const lines = [`*Not served:* ${formatRanges(coverage.uncovered)} (${countSlots(coverage.uncovered)} of 16384 slots)`];
  if (coverage.servedByFailedMaster.length) lines.push(`*Owned by a failed master:* ${formatRanges(coverage.servedByFailedMaster)}`);
  if (coverage.unassigned.length) lines.push(`*No owner:* ${formatRanges(coverage.unassigned)}`);
  return lines.join('\n');
}

const SEVERITY_ICON = { critical: ':red_circle:', warning: ':warning:', info: ':information_source:' } as const;
/** Findings per thread reply: a message stays readable, and far below 50 blocks. */
const FINDINGS_PER_MESSAGE = 10;

/** Thread replies with each finding and the raw lines that prove it. */
export function findingsMessages(report: PlannedReport, only?: 'risk'): MessageBody[] {
  const findings = report.findings.filter((f) => !only || f.category === only);
  if (findings.length === 0) {
    return [{ text: 'No findings', blocks: [section(only === 'risk' ? 'No risk findings.' : 'No findings.')] }];
  }
  const messages: MessageBody[] = [];
  for (let i = 0; i < findings.length; i += FINDINGS_PER_MESSAGE) {
    const chunk = findings.slice(i, i + FINDINGS_PER_MESSAGE);
    const blocks: Block[] = [];
    if (i === 0) blocks.push(section(`*Findings* (${findings.length}), most important first:`));
    for (const finding of chunk) blocks.push(...findingBlocks(finding));
    messages.push({ text: `Findings ${i + 1}-${i + chunk.length} of ${findings.length}`, blocks });
  }
  return messages;
}

export function findingBlocks(finding: Finding): Block[] {
  const head = `${SEVERITY_ICON[finding.severity]} *${escapeMrkdwn(finding.title)}* \`${finding.code}\` (${finding.severity} ${finding.category})`;
  const blocks: Block[] = [section(truncate(`${head}\n${escapeMrkdwn(finding.detail)}`, LIMITS.sectionText))];
  if (finding.evidence.length) blocks.push(section(codeBlock(finding.evidence)));
  return blocks;
}

/** The per-node table in monospace, split into code blocks that each fit a section. */
export function nodeTableMessages(nodes: NodeReport[]): MessageBody[] {
  const rows = nodeRows(nodes);
  const [head, ...body] = rows;
  const chunks: string[][] = [];
  let current: string[] = [];
  let size = 0;
  // Each code block repeats the header; the budget leaves room for fences and escaping.
  const budget = LIMITS.sectionText - 200;
  for (const row of body) {
    const cost = escapeMrkdwn(row).length + 1;
    if (current.length > 0 && size + cost > budget - head!.length) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(row);
    size += cost;
  }
  if (current.length || chunks.length === 0) chunks.push(current);
  const sections = chunks.map((chunk) => section(codeBlock([head!, ...chunk])));
  const perMessage = LIMITS.blocksPerMessage - 2;
  const messages: MessageBody[] = [];
  for (let i = 0; i < sections.length; i += perMessage) {
    messages.push({
      text: `Nodes (${nodes.length})`,
      blocks: [...(i === 0 ? [section(`*Nodes* (${nodes.length}):`)] : []), ...sections.slice(i, i + perMessage)],
    });
  }
  return messages;
}

export function nodeRows(nodes: NodeReport[]): string[] {
  return nodeTableRows(nodes, { slotTextMax: 40 });
}

export interface FixButtonValues {
  approve(plan: FixPlan): string;
  dryRun(plan: FixPlan): string;
}

/** Plans shown in one message: two blocks each, under the 50-block limit. */
const MAX_PLANS = 20;

/** Plans that need several approvers: how many, and who has approved so far. */
export interface ApprovalProgress {
  needed(plan: FixPlan): number;
  voters?: Record<string, readonly string[]>;
}

/** The fixes, each with "Approve: ..." (confirm dialog with the exact commands) and "Show commands". */
export function fixesMessage(
  report: Pick<PlannedReport, 'cluster' | 'fixes' | 'primary'>,
  values: FixButtonValues,
  expiryMs: number,
  progress?: ApprovalProgress,
): MessageBody {
  if (report.fixes.length === 0) {
    return {
      text: 'No automatic fix',
      blocks: [
        section(
          report.primary
            ? '*No automatic fix applies.* Follow the root cause above; re-diagnose once it is dealt with.'
            : '*Nothing to fix.*',
        ),
      ],
    };
  }
  const blocks: Block[] = [
    section(
      `*Fixes* (${report.fixes.length}). Read the exact commands (*Show commands* runs nothing), then approve one. Approval buttons expire after ${Math.round(expiryMs / 60000)} min.`,
    ),
  ];
  // A plan that needs several approvers takes a third block (its approvals line).
  const needsLine = Boolean(progress) && report.fixes.some((p) => p.executable && progress!.needed(p) > 1);
  const maxPlans = Math.min(MAX_PLANS, Math.floor((LIMITS.blocksPerMessage - 2) / (needsLine ? 3 : 2)));
  report.fixes.slice(0, maxPlans).forEach((plan, index) => {
    blocks.push(section(truncate(planSummary(plan, index), LIMITS.sectionText)));
    const elements: Button[] = [];
    if (plan.executable) elements.push(approveButton(report.cluster, plan, index, values.approve(plan)));
    elements.push({
      type: 'button',
      action_id: `${ACTIONS.dryRun}:${index}`,
      text: { type: 'plain_text', text: 'Show commands' },
      value: values.dryRun(plan),
    });
    const actions: ActionsBlock = { type: 'actions', block_id: `fix:${index}`, elements };
    blocks.push(actions);
    const needed = plan.executable && progress ? progress.needed(plan) : 1;
    if (needed > 1) blocks.push(context(approvalsLine(progress?.voters?.[plan.id] ?? [], needed)));
  });
  if (report.fixes.length > maxPlans)
    blocks.push(
      context(
        `${report.fixes.length - maxPlans} more plans are not shown; run \`redis-medic diagnose ${escapeMrkdwn(report.cluster)}\` for all of them.`,
      ),
    );
  return {
    text: fallbackText(`${report.fixes.length} fix${report.fixes.length === 1 ? '' : 'es'} for ${report.cluster}: review and approve`),
    blocks,
  };
}

/**
 * A diagnosis asked for while an incident is open (issue 13 §3): its plans are not offered a
 * second time. The incident's fix message, edited in place as the plans change, is the one place
 * to approve from; this message points there and names what the fresh diagnosis found.
 */
export function incidentFixesPointer(report: Pick<PlannedReport, 'cluster' | 'fixes'>, pointer: string | null): MessageBody {
  const link = permalinkText(pointer);
  const where = link ? `the incident's fix message (${link})` : "the incident's fix message in this thread";
  const lines = [
    `*Fixes:* an incident is open for *${escapeMrkdwn(report.cluster)}*, so no buttons here: approve from ${where}, the one place with the current buttons (kept up to date as the cluster changes).`,
  ];
  if (report.fixes.length > 0) {
    lines.push(
      `This diagnosis found ${plural(report.fixes.length, 'plan')}:`,
      ...report.fixes.slice(0, MAX_PLANS).map((p, i) => `${i + 1}. ${escapeMrkdwn(p.title)}${p.executable ? '' : ' _(advice)_'}`),
    );
  } else {
    lines.push('This diagnosis found no plan to offer.');
  }
  return {
    text: fallbackText(`An incident is open for ${report.cluster}: approve from the incident's fix message`),
    blocks: [section(truncate(lines.join('\n'), LIMITS.sectionText))],
  };
}

/** `1 of 2 approvals: @a. One more approver's click runs it.` */
export function approvalsLine(voters: readonly string[], needed: number): string {
  const who = voters.length ? `: ${voters.map(mention).join(', ')}` : '';
  const left = needed - voters.length;
  return `*${Math.min(voters.length, needed)} of ${needed} approvals*${who}. ${left > 0 ? `Risk high: ${left === 1 ? "one more approver's click runs it" : `${left} more approvers needed`}.` : 'Approved.'}`;
}

/** A paste is not a connected cluster: the plans are shown as commands to run by hand, no buttons. */
export function offlineFixesMessage(report: PlannedReport): MessageBody {
  const blocks: Block[] = [
    section(
      '*Offline analysis:* redis-medic is not connected to this cluster (it only read your paste), so it offers no approve buttons. Configure the cluster to get them.',
    ),
  ];
  if (report.fixes.length === 0) {
    blocks.push(section(report.primary ? 'No automatic fix applies; follow the root cause above.' : 'Nothing to fix.'));
  }
  report.fixes.slice(0, MAX_PLANS).forEach((plan, index) => {
    blocks.push(section(truncate(planSummary(plan, index), LIMITS.sectionText)));
    if (plan.steps.length > 0) blocks.push(section(codeBlock(plan.steps.map(stepLine))));
  });
  return { text: 'Offline analysis: commands for reference', blocks: blocks.slice(0, LIMITS.blocksPerMessage) };
}

export function planSummary(plan: FixPlan, index: number): string {
  const lines = [
    `*${index + 1}. ${escapeMrkdwn(plan.title)}*  risk *${plan.risk}*${plan.executable ? '' : '  _(advice: redis-medic cannot do this itself)_'}`,
    `*Data loss:* ${escapeMrkdwn(plan.dataLoss.text)}`,
    `*Expected:* ${escapeMrkdwn(plan.expected)}`,
  ];
  if (isByHand(plan)) {
    // Advice (restart a process): no step for redis-medic to run, so say what the person does.
    lines.push('*What you do* (redis-medic cannot do this itself):', ...byHandLines(plan).map((l) => `• ${escapeMrkdwn(l)}`));
  } else {
    lines.push(`${plural(plan.steps.length, 'step')} on ${plural(new Set(plan.steps.map((s) => s.node)).size, 'node')}.`);
  }
  return lines.join('\n');
}

export function stepLine(step: { node: string; command: string[]; moveKeys?: KeyMove }): string {
  return `${step.node}> ${commandText(step)}`;
}

export function approveButton(cluster: string, plan: FixPlan, index: number, value: string): Button {
  return {
    type: 'button',
    action_id: `${ACTIONS.approve}:${index}`,
    text: { type: 'plain_text', text: truncate(`Approve: ${plan.title}`, LIMITS.buttonText) },
    value,
    ...(plan.risk === 'high' ? { style: 'danger' as const } : { style: 'primary' as const }),
    confirm: confirmDialog(cluster, plan),
  };
}

/** The dialog Slack shows before the click is sent: the exact commands and what may be lost. */
export function confirmDialog(cluster: string, plan: FixPlan): ConfirmationDialog {
  const dataLoss = `Data loss: ${truncate(plan.dataLoss.text, 110)}`;
  const head = `On ${cluster}:`;
  const budget = LIMITS.confirmText - dataLoss.length - head.length - 2;
  const lines: string[] = [];
  let used = 0;
  for (let i = 0; i < plan.steps.length; i++) {
    const line = truncate(stepLine(plan.steps[i]!), 100);
    const more = plan.steps.length - i - 1;
    const reserve = more > 0 ? 40 : 0;
    if (used + line.length + 1 > budget - reserve) {
      lines.push(`…and ${plan.steps.length - i} more (Show commands)`);
      break;
    }
    lines.push(line);
    used += line.length + 1;
  }
  return {
    title: { type: 'plain_text', text: truncate(`Run "${plan.title}"?`, LIMITS.confirmTitle) },
    text: { type: 'plain_text', text: truncate([head, ...lines, dataLoss].join('\n'), LIMITS.confirmText) },
    confirm: { type: 'plain_text', text: plan.risk === 'high' ? 'Run it, accept the risk' : 'Run it' },
    deny: { type: 'plain_text', text: 'Cancel' },
    ...(plan.risk === 'high' ? { style: 'danger' as const } : {}),
  };
}

export function rediagnoseButton(value: string): Button {
  return { type: 'button', action_id: ACTIONS.rediagnose, text: { type: 'plain_text', text: 'Re-diagnose' }, value, style: 'primary' };
}
