import { parseInfoFields } from '../cluster/parse-info';
import { errorMessage } from '../errors';
import type { NodeLinks } from './node-links';
import type { PlanCheck } from './types';
import { plural } from '../text';

/**
 * Read-only checks before the first step. Returns what failed (empty when all passed). A node
 * that does not answer fails its check: nothing is assumed.
 */
export async function runChecks(checks: PlanCheck[], links: NodeLinks, timeoutMs: number): Promise<string[]> {
  const failures = await Promise.all(
    checks.map(async (check) => {
      try {
        return await runCheck(check, links, timeoutMs);
      } catch (err) {
        return [`${check.node}: ${errorMessage(err)}`];
      }
    }),
  );
  return failures.flat();
}

async function runCheck(check: PlanCheck, links: NodeLinks, timeoutMs: number): Promise<string[]> {
  if (check.kind === 'blank-node') {
    const info = parseInfoFields(await links.text(check.node, ['CLUSTER', 'INFO'], timeoutMs)).fields;
    const keys = Number(await links.call(check.node, ['DBSIZE'], timeoutMs));
    const out: string[] = [];
    if (info['cluster_known_nodes'] !== '1')
      out.push(`${check.node} already knows ${Number(info['cluster_known_nodes']) - 1} other node(s): it is not a blank spare`);
    if (Number(info['cluster_slots_assigned'] ?? 0) !== 0) out.push(`${check.node} has ${info['cluster_slots_assigned']} slots assigned`);
    if (keys !== 0) out.push(`${check.node} holds ${keys} keys`);
    return out;
  }
  const out: string[] = [];
  for (const slot of check.slots) {
    const count = Number(await links.call(check.node, ['CLUSTER', 'COUNTKEYSINSLOT', String(slot)], timeoutMs));
    if (count !== 0) out.push(`${check.node} holds ${plural(count, 'key')} in slot ${slot}`);
  }
  return out;
}
