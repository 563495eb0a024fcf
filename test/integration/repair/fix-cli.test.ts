// `redis-medic fix` against a real cluster: it shows the plan, never runs without a literal
// "yes" (or --yes), refuses clearly without a terminal, and needs the queue Redis for the lock.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { runFix, REFUSE_WITHOUT_CONFIRMATION, type FixDeps } from '../../../src/cli/fix';
import { parseConfig } from '../../../src/config/load';
import { silentLogger } from '../../../src/logging/logger';
import { freePort, useCluster } from '../../helpers/cluster';
import { assertOkEverywhere, clusterConfigOf, diagnosisOf, planOf, useQueueRedis } from './support';

describe('repair: the fix command', function () {
  this.timeout(30_000);
  const cluster = useCluster({ masters: 3, slots: [[0, 15999]] });
  const queue = useQueueRedis();
  before(() => cluster().waitFor((infos) => [...infos.values()].every((t) => t.includes('cluster_slots_assigned:16000'))));

  const config = () => parseConfig({ queue: { prefix: queue.prefix } });
  const seeds = () => cluster().seeds.join(',');
  function capture(): { io: { stdout: (t: string) => void; stderr: (t: string) => void }; out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, out, err };
  }
  function deps(over: Partial<FixDeps> = {}): FixDeps & { asked: string[] } {
    const asked: string[] = [];
    return {
      isTTY: false,
      ask: async (q) => {
        asked.push(q);
        return 'no';
      },
      user: 'tester',
      logger: silentLogger,
      asked,
      ...over,
    };
  }
  async function assignPlanId(): Promise<string> {
    return planOf(await diagnosisOf(clusterConfigOf(cluster())), 'ASSIGN_UNCOVERED_SLOTS').id;
  }
  async function assertUnchanged(): Promise<void> {
    for (const node of cluster().masters()) assert.equal((await cluster().clusterInfo(node))['cluster_slots_assigned'], '16000');
    assert.deepEqual(await queue.redis().keys(`${queue.prefix}:*`), [], 'no lock, no audit entry');
  }

  it('--dry-run shows the exact commands and changes nothing (exit 0)', async () => {
    const id = await assignPlanId();
    const { io, out } = capture();
    assert.equal(await runFix(seeds(), { plan: id, dryRun: true }, config(), io, deps()), 0);
    const text = out.join('\n');
    assert.match(text, new RegExp(`Plan ${id} for `));
    assert.match(text, /> CLUSTER ADDSLOTSRANGE 16000 16383/);
    assert.match(text, /Dry run: nothing was changed/);
    await assertUnchanged();
  });

  it('without a terminal and without --yes: refuses with a clear message, exit 2, changes nothing', async () => {
    const { io, err } = capture();
    const d = deps();
    assert.equal(await runFix(seeds(), { plan: await assignPlanId() }, config(), io, d), 2);
    assert.ok(
      err.some((l) => l.includes(REFUSE_WITHOUT_CONFIRMATION)),
      err.join('\n'),
    );
    assert.deepEqual(d.asked, []);
    await assertUnchanged();
  });

  it('the real binary, stdin not a terminal, behaves the same', async () => {
    const bin = path.join(__dirname, '..', '..', '..', 'bin', 'redis-medic');
    const id = await assignPlanId();
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [bin, 'fix', seeds(), '--plan', id],
        { env: { ...process.env, QUEUE_PREFIX: queue.prefix, REDIS_MEDIC_CONFIG: '' }, timeout: 20_000 },
        (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
      );
      child.stdin?.end();
    });
    assert.equal(code, 2, stderr);
    assert.match(stderr, new RegExp(REFUSE_WITHOUT_CONFIRMATION));
    await assertUnchanged();
  });

  it('on a terminal, anything but a literal "yes" changes nothing (exit 1)', async () => {
    const { io } = capture();
    const d = deps({ isTTY: true, ask: async () => 'y' });
    assert.equal(await runFix(seeds(), { plan: await assignPlanId() }, config(), io, d), 1);
    await assertUnchanged();
  });

  it('an unknown plan id: exit 1, with the current plans listed', async () => {
    const { io, out, err } = capture();
    assert.equal(await runFix(seeds(), { plan: 'assign-000000000000', yes: true }, config(), io, deps()), 1);
    assert.match(err.join('\n'), /plan assign-000000000000 not found in the current diagnosis/);
    assert.match(out.join('\n'), /Current plans:\n\s+assign-/);
    await assertUnchanged();
  });

  it('the queue Redis unreachable: says so and refuses (exit 1), changing nothing', async () => {
    const { io, err } = capture();
    const closed = await freePort();
    const unreachable = parseConfig({ queue: { prefix: queue.prefix, redisUrl: `redis://:secret@127.0.0.1:${closed}` } });
    assert.equal(await runFix(seeds(), { plan: await assignPlanId(), yes: true }, unreachable, io, deps()), 1);
    const text = err.join('\n');
    assert.match(text, /cannot reach the queue Redis at redis:\/\/:\[redacted\]@127\.0\.0\.1:\d+, which holds the repair lock/);
    assert.doesNotMatch(text, /secret/);
    await assertUnchanged();
  });

  it('a high-risk plan when approvals.highRiskApprovers is 2: refused with a clear message, exit 2, changes nothing (issue 11)', async () => {
    const id = planOf(await diagnosisOf(clusterConfigOf(cluster())), 'ALLOW_PARTIAL_COVERAGE').id;
    const twoApprovers = parseConfig({ queue: { prefix: queue.prefix }, approvals: { highRiskApprovers: 2 } });
    const { io, err } = capture();
    const d = deps({ isTTY: true, ask: async () => 'yes\n' });
    assert.equal(await runFix(seeds(), { plan: id, yes: true }, twoApprovers, io, d), 2, err.join('\n'));
    assert.match(
      err.join('\n'),
      /risk high, and approvals\.highRiskApprovers requires 2 distinct approvers; the CLI has one \(cli:tester\)/,
    );
    assert.deepEqual(d.asked, []);
    for (const node of cluster().masters())
      assert.equal(((await cluster().client(node).call('CONFIG', 'GET', 'cluster-require-full-coverage')) as string[])[1], 'yes');
    await assertUnchanged();
  });

  it('on a terminal, "yes" runs the plan and verifies it (exit 0)', async () => {
    const { io, out } = capture();
    const d = deps({ isTTY: true, ask: async () => 'yes\n' });
    assert.equal(await runFix(seeds(), { plan: await assignPlanId() }, config(), io, d), 0, out.join('\n'));
    assert.match(out.join('\n'), /Repair REPAIRED/);
    await assertOkEverywhere(cluster());
    const audit = await queue.redis().xrange(`${queue.prefix}:audit`, '-', '+');
    assert.ok(
      audit.some(([, fields]) => fields.includes('cli:tester')),
      'the repair is audited with its actor',
    );
    // The fix command signs its own approval and claims it in the approval store, as the Slack
    // app does, so the same check holds everywhere (issue 11 §2).
    const approved = audit
      .map(([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 ? [] : [[v, f[i + 1]]]))))
      .find((e) => e.action === 'repair.approved');
    assert.ok(approved, 'the approval is audited');
    assert.equal(approved.actor, 'cli:tester');
    const details = JSON.parse(approved.details ?? '{}') as { approvalId: string; signed: boolean; via: string };
    assert.match(details.approvalId, /^cli-/);
    assert.deepEqual([details.signed, details.via], [true, 'cli']);
    const claim = JSON.parse((await queue.redis().get(`${queue.prefix}:slack:approval:${details.approvalId}:claim`))!) as { user: string };
    assert.equal(claim.user, 'cli:tester');
  });
});
