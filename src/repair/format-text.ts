import { byHandLines, commandText, isByHand } from './step-text';
import type { FixPlan, RepairResult } from './types';

/** A plan as a person reviews it before saying yes: what, how risky, what is lost, each command. */
export function formatPlan(plan: FixPlan, cluster: string): string {
  const out = [
    `Plan ${plan.id} for ${cluster}: ${plan.title}`,
    `  action: ${plan.action}   risk: ${plan.risk}${plan.executable ? '' : '   (advice: redis-medic cannot run this itself)'}`,
    `  fixes: ${plan.fixes.join(', ') || '-'}`,
    `  data loss: ${plan.dataLoss.text}`,
  ];
  if (isByHand(plan)) out.push('  what you do (redis-medic cannot do this itself):', ...byHandLines(plan).map((l) => `    - ${l}`));
  else if (plan.preconditions.length) out.push('  before you say yes:', ...plan.preconditions.map((p) => `    - ${p}`));
  if (plan.checks?.length) {
    out.push(
      '  checked first (read-only):',
      ...plan.checks.map((c) =>
        c.kind === 'blank-node'
          ? `    - ${c.node} is a blank cluster node (no keys, no slots, knows no other node)`
          : `    - ${c.node} holds no key in slot${c.slots.length === 1 ? '' : 's'} ${c.slots.join(', ')}`,
      ),
    );
  }
  if (plan.steps.length) {
    out.push(`  steps${plan.concurrent ? ' (sent at once)' : ' (in order, stopping at the first failure)'}:`);
    plan.steps.forEach((s, i) => {
      out.push(`    ${i + 1}. ${s.node}> ${commandText(s)}${s.why ? `    # ${s.why}` : ''}`);
      if (s.waitFor)
        out.push(
          `       then wait until ${s.waitFor.node} knows ${s.waitFor.knowsIds.length} node(s)${s.waitFor.currentEpochAtLeast !== undefined ? ` and epoch >= ${s.waitFor.currentEpochAtLeast}` : ''}`,
        );
    });
  }
  out.push(`  expected: ${plan.expected}`);
  return out.join('\n');
}

export function formatRepairResult(result: RepairResult): string {
  const out = [`Repair ${result.status.toUpperCase()}: plan ${result.planId} (${result.durationMs} ms)`];
  if (result.reason) out.push(`  ${result.reason}`);
  for (const [i, s] of result.steps.entries()) {
    out.push(`  ${s.ok ? 'ok  ' : 'FAIL'} ${i + 1}. ${s.node}> ${commandText(s)} -> ${oneLine(s.reply)} (${s.ms} ms)`);
  }
  if (result.plan && result.steps.length < result.plan.steps.length && result.status === 'failed') {
    out.push(`  not run: ${result.plan.steps.length - result.steps.length} step(s) after the failure`);
  }
  if (result.verification) out.push('  last observed:', ...result.verification.split('\n').map((l) => `    ${l}`));
  if (result.timings) {
    const t = result.timings;
    out.push(`  timings: lock ${t.lockMs} ms, re-diagnosis ${t.rediagnoseMs} ms, steps ${t.stepsMs} ms, verification ${t.verifyMs} ms`);
  }
  if (result.finalReport)
    out.push(`  cluster now: ${result.finalReport.verdict}${result.finalReport.primary ? ` (${result.finalReport.primary})` : ''}`);
  return out.join('\n');
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
