import type { RepairProgress } from '../../jobs/types';
import type { FixPlan, RepairResult, PlannedReport } from '../../repair/types';
import { coverageText, rediagnoseButton, stepLine, VERDICT_ICON } from './diagnosis';
import { context, header, section, type Block, type MessageBody } from './kit';
import { approversText, codeBlock, escapeMrkdwn, fallbackText, LIMITS, truncate } from './text';
import { plural } from '../../text';

/** One line per step as it runs: edited in place, so the thread does not fill with updates. */
export interface StepLine {
  index: number;
  node: string;
  command: string[];
  status: 'running' | 'ok' | 'failed';
  reply?: string;
  ms?: number;
}

const STATUS_MARK = { running: '…', ok: '✓', failed: '✗' } as const;

export function stepText(step: StepLine): string {
  const reply = step.reply !== undefined ? ` → ${truncate(step.reply.replace(/\s+/g, ' '), 120)}` : '';
  const ms = step.ms !== undefined ? ` (${step.ms} ms)` : '';
  return `${STATUS_MARK[step.status]} ${stepLine(step)}${reply}${ms}`;
}

/** Merge one progress event into the step list (pure: returns a new list). */
export function applyProgress(steps: readonly StepLine[], progress: RepairProgress): StepLine[] {
  if (progress.phase !== 'step') return [...steps];
  const line: StepLine = {
    index: progress.index,
    node: progress.node,
    command: progress.command,
    status: progress.status,
    ...(progress.reply !== undefined ? { reply: progress.reply } : {}),
    ...(progress.ms !== undefined ? { ms: progress.ms } : {}),
  };
  const others = steps.filter((s) => s.index !== progress.index);
  return [...others, line].sort((a, b) => a.index - b.index);
}

/** The buttons message once approved: who approved, then each step as it runs. */
export function runningMessage(input: {
  cluster: string;
  plan: Pick<FixPlan, 'title' | 'steps'>;
  approvedBy: string;
  steps: readonly StepLine[];
  phase?: string;
}): MessageBody {
  const blocks: Block[] = [
    section(
      truncate(
        `:hourglass_flowing_sand: Approved by ${approversText(input.approvedBy)}, running *${escapeMrkdwn(input.plan.title)}* on *${escapeMrkdwn(input.cluster)}*…`,
        LIMITS.sectionText,
      ),
    ),
  ];
  const lines = input.steps.length ? input.steps.map(stepText) : input.plan.steps.map((s) => `  ${stepLine(s)}`);
  blocks.push(section(codeBlock(lines)));
  if (input.phase) blocks.push(context(truncate(escapeMrkdwn(input.phase), LIMITS.contextText)));
  return { text: fallbackText(`Approved by ${input.approvedBy}: running ${input.plan.title}`), blocks };
}

const OUTCOME_HEAD = {
  repaired: ':white_check_mark: Repaired',
  failed: ':x: Repair failed',
  refused: ':no_entry: Repair refused',
} as const;

/** The verified outcome, posted in the thread: status, every step with its reply, the final check. */
export function outcomeMessage(input: {
  cluster: string;
  plan: Pick<FixPlan, 'title'>;
  approvedBy: string;
  result: RepairResult;
  rediagnoseValue: string;
}): MessageBody {
  const { result } = input;
  const blocks: Block[] = [
    header(truncate(`${OUTCOME_HEAD[result.status].replace(/:[a-z_]+: /, '')}: ${input.plan.title}`, LIMITS.headerText)),
    section(
      truncate(
        `${OUTCOME_HEAD[result.status]}: *${escapeMrkdwn(input.plan.title)}* on *${escapeMrkdwn(input.cluster)}*, approved by ${approversText(input.approvedBy)}, in ${result.durationMs} ms.${result.reason ? `\n*Why:* ${escapeMrkdwn(result.reason)}` : ''}`,
        LIMITS.sectionText,
      ),
    ),
  ];
  if (result.steps.length) {
    blocks.push(
      section(
        codeBlock(
          result.steps.map((s, index) =>
            stepText({ index, node: s.node, command: s.command, status: s.ok ? 'ok' : 'failed', reply: s.reply, ms: s.ms }),
          ),
        ),
      ),
    );
  } else {
    blocks.push(section('No command was run.'));
  }
  if (result.notRun?.length) {
    blocks.push(section(truncate(`*Not run:*\n${codeBlock(result.notRun.map((s) => `  ${stepLine(s)}`))}`, LIMITS.sectionText)));
  }
  if (result.finalReport) blocks.push(section(truncate(finalCheckText(result.finalReport), LIMITS.sectionText)));
  const next = nextStepText(result);
  if (next) {
    blocks.push(section(next));
    blocks.push({ type: 'actions', elements: [rediagnoseButton(input.rediagnoseValue)] });
  }
  return {
    text: fallbackText(`${OUTCOME_HEAD[result.status].replace(/:[a-z_]+: /, '')}: ${input.plan.title} on ${input.cluster}`),
    blocks,
  };
}

/** What replaces the buttons once a repair has finished: a one-line summary. */
export function approvedSummaryMessage(input: {
  cluster: string;
  plan: Pick<FixPlan, 'title'>;
  approvedBy: string;
  result: RepairResult;
}): MessageBody {
  const text = `${OUTCOME_HEAD[input.result.status]}: *${escapeMrkdwn(input.plan.title)}* on *${escapeMrkdwn(input.cluster)}*, approved by ${approversText(input.approvedBy)} (${plural(input.result.steps.length, 'step')}, ${input.result.durationMs} ms). Details below.`;
  return { text: fallbackText(`${input.result.status}: ${input.plan.title}`), blocks: [section(truncate(text, LIMITS.sectionText))] };
}

export function finalCheckText(report: PlannedReport): string {
  return `*Final check:* ${VERDICT_ICON[report.verdict]} *${report.verdict.toUpperCase()}*${report.primary ? ` (still: \`${report.primary}\`)` : ''}\n${coverageText(report)}`;
}

function nextStepText(result: RepairResult): string | null {
  if (result.status === 'repaired' && (!result.finalReport || result.finalReport.verdict === 'ok')) return null;
  if (result.status === 'repaired')
    return '*Next:* the fix worked, but the cluster is not fully healthy yet: re-diagnose to see what is left.';
  if (result.status === 'refused')
    return '*Next:* nothing was run. The cluster is not what was diagnosed (or another repair holds the lock): re-diagnose and approve the fresh plan.';
  if (result.code === 'repair_interrupted')
    return '*Next:* the cluster is between two states. The fresh diagnosis in this thread offers the plan that completes the job; or re-diagnose.';
  const failed = result.steps.find((s) => !s.ok);
  return `*Next:* ${failed ? `the step on ${escapeMrkdwn(failed.node)} failed and nothing after it ran; check that node's log. ` : ''}Re-diagnose to see the current state before trying anything else.`;
}

/** Ephemeral answer to a click on an expired approval. */
export function expiredMessage(reason: string, rediagnoseValue: string): MessageBody {
  return {
    text: 'Expired: re-diagnose',
    blocks: [
      section(truncate(`:hourglass: *Expired, re-diagnose.* ${reason}`, LIMITS.sectionText)),
      { type: 'actions', elements: [rediagnoseButton(rediagnoseValue)] },
    ],
  };
}

/** Ephemeral "Show commands": the whole plan, nothing run. */
export function dryRunMessage(cluster: string, plan: FixPlan): MessageBody {
  const blocks: Block[] = [
    section(
      truncate(
        `*Dry run* (nothing was run): *${escapeMrkdwn(plan.title)}* on *${escapeMrkdwn(cluster)}*, risk *${plan.risk}*`,
        LIMITS.sectionText,
      ),
    ),
    section(codeBlock(plan.steps.map((s) => `${stepLine(s)}${s.why ? `    # ${s.why}` : ''}`))),
    section(truncate(`*Data loss:* ${escapeMrkdwn(plan.dataLoss.text)}\n*Expected:* ${escapeMrkdwn(plan.expected)}`, LIMITS.sectionText)),
  ];
  if (plan.preconditions.length) {
    blocks.push(
      section(
        truncate(
          `*Checked again just before running:*\n${plan.preconditions.map((p) => `• ${escapeMrkdwn(p)}`).join('\n')}`,
          LIMITS.sectionText,
        ),
      ),
    );
  }
  return { text: fallbackText(`Dry run: ${plan.title}`), blocks };
}

/** Ephemeral refusal of a click. `message` is mrkdwn: whoever builds it escapes what it quotes. */
export function refusalMessage(message: string): MessageBody {
  return { text: `Refused: ${message}`, blocks: [section(truncate(`:no_entry: ${message}`, LIMITS.sectionText))] };
}

/** Ephemeral answer to an approver whose click is one of several a high-risk plan needs. */
export function voteRecordedMessage(approvalsLine: string, added: boolean): MessageBody {
  const head = added ? 'Your approval is recorded.' : 'You have already approved this plan.';
  return { text: fallbackText(head), blocks: [section(truncate(`:ballot_box_with_check: ${head} ${approvalsLine}`, LIMITS.sectionText))] };
}
