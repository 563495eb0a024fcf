// "No offered plan fails its own precondition": run, read-only, what the executor would check
// before the first step of every executable plan a diagnosis offers (the allow-list and the plan's
// checks, e.g. CLUSTER COUNTKEYSINSLOT), against the live cluster the diagnosis was made of.
import { clusterScope } from '../../src/cluster/scope';
import { runChecks } from '../../src/repair/checks';
import { NodeLinks } from '../../src/repair/node-links';
import { validatePlan } from '../../src/repair/validate';
import type { PlannedReport } from '../../src/repair/types';

export async function offeredPlanProblems(
  report: PlannedReport,
  options: { spareNodes?: string[]; password?: string } = {},
): Promise<string[]> {
  // The scope a config seeded with these (loopback) nodes gets by default, as the executor uses it.
  const allowed = clusterScope({ seeds: report.nodes.map((n) => n.addr).filter(Boolean), spareNodes: options.spareNodes ?? [] });
  const links = new NodeLinks(options.password ? { password: options.password } : {}, 500, allowed);
  try {
    const scope = {
      allowed,
      nodes: [...report.nodes.map((n) => n.addr).filter(Boolean), ...(options.spareNodes ?? [])],
      ids: report.nodes.map((n) => n.id),
    };
    const problems: string[] = [];
    for (const plan of report.fixes.filter((p) => p.executable)) {
      const found = [...validatePlan(plan, scope), ...(await runChecks(plan.checks ?? [], links, 2000))];
      problems.push(...found.map((p) => `${plan.id} (${plan.title}): ${p}`));
    }
    return problems;
  } finally {
    links.close();
  }
}
