// Issue 11 §2: workers run only what an approver signed. A job written straight into the real
// queue Redis (plan ids are readable there) against a live broken cluster runs nothing, leaves
// the cluster as it was, and is audited as refused with its claimed actor marked unverified.
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createAuditLog } from '../../../src/audit/audit-log';
import type { Config } from '../../../src/config/schema';
import { repairJobId } from '../../../src/jobs/queues';
import { createJobSystem, type JobSystem } from '../../../src/jobs/system';
import type { RepairJobData } from '../../../src/jobs/types';
import { silentLogger } from '../../../src/logging/logger';
import { queueKeys } from '../../../src/queue-keys';
import { createApprovalSigner } from '../../../src/repair/approval';
import type { RepairResult } from '../../../src/repair/types';
import { useCluster, type TestCluster } from '../../helpers/cluster';
import { approvedRepair, deletePrefix, jobsConfig, QUEUE_REDIS_URL, testPrefix } from '../jobs/support';
import { diagnosisOf, planOf } from '../repair/support';

/** What a repair would change: every node's slots, flags and epochs (not ping times). */
async function clusterState(c: TestCluster): Promise<string[]> {
  const out: string[] = [];
  for (const node of c.nodes) {
    const info = await c.clusterInfo(node);
    const lines = (await c.clusterNodes(node))
      .map((l) => `${l.id} ${l.addr} ${l.flags.join(',')} ${l.masterId ?? '-'} ${l.slots.join(' ')} ${l.raw.split(' ')[6]}`)
      .sort();
    out.push(
      `${node.addr} epoch=${info['cluster_current_epoch']} assigned=${info['cluster_slots_assigned']} state=${info['cluster_state']}`,
      ...lines,
    );
  }
  return out;
}

describe('workers run only what an approver signed (issue 11 §2)', function () {
  this.timeout(60_000);
  // Slots 16000-16383 never assigned: the plan is CLUSTER ADDSLOTSRANGE + BUMPEPOCH.
  const cluster = useCluster({ masters: 3, slots: [[0, 15999]] });
  let prefix: string;
  let system: JobSystem | undefined;
  let redis: Redis;
  let queue: Queue<RepairJobData, RepairResult>;
  before(() => cluster().waitFor((infos) => [...infos.values()].every((t) => t.includes('cluster_slots_assigned:16000'))));
  beforeEach(() => {
    prefix = testPrefix();
    redis = new Redis(QUEUE_REDIS_URL, { maxRetriesPerRequest: null });
    // The attacker's view: the queue Redis, the queue name and the prefix, nothing else.
    queue = new Queue('repair', { connection: redis, prefix });
  });
  afterEach(async () => {
    await system?.close();
    system = undefined;
    await queue.close();
    await deletePrefix(prefix);
    redis.disconnect();
  });

  const config = (): Config => jobsConfig(prefix, cluster().seeds);
  const startWorkers = async (): Promise<JobSystem> => {
    system = createJobSystem(config(), { logger: silentLogger });
    await system.startWorkers({ queues: ['repair'] });
    await system.whenReady();
    return system;
  };
  const assignPlanId = async (): Promise<string> =>
    planOf(await diagnosisOf({ name: 'test', seeds: cluster().seeds, tls: false, spareNodes: [] }), 'ASSIGN_UNCOVERED_SLOTS').id;
  const audit = () => createAuditLog(redis, prefix, silentLogger).read({ count: 100 });

  it('forged, re-signed with another key, or altered: refused, audited as unverified, the cluster unchanged; a signed approval runs', async () => {
    const workers = await startWorkers();
    const planId = await assignPlanId();
    const before = await clusterState(cluster());

    const forged: RepairJobData = {
      cluster: 'test',
      planId,
      approvalId: 'forged',
      approvedBy: 'UATTACKER',
      origin: { kind: 'slack', channel: 'C0SHOP', user: 'UATTACKER' },
    };
    // A claim the attacker wrote too, and a signature made with a key that is not ours.
    const at = Date.now();
    await redis.set(queueKeys(prefix).approvalClaim('forged-2'), JSON.stringify({ user: 'UATTACKER', planId, at }));
    const otherKey = createApprovalSigner(Buffer.from('not-our-secret')).sign({
      id: 'forged-2',
      cluster: 'test',
      planId,
      approvers: ['UATTACKER'],
      claimedAt: at,
    });
    // A real signed approval for another plan, with the plan id changed.
    const real = await approvedRepair(config(), {
      cluster: 'test',
      planId: 'assign-000000000000',
      approvalId: 'real-1',
      approvedBy: 'U0APPROVER',
      origin: { kind: 'cli', user: 'x' },
    });
    const jobs: Array<[string, RepairJobData]> = [
      ['forged', forged],
      ['other-key', { ...forged, approvalId: 'forged-2', approval: otherKey }],
      ['altered', { ...real, planId }],
    ];
    for (const [name, data] of jobs) {
      await queue.add('repair', data, { jobId: `repair-${name}` });
      const status = await workers.waitForJob<RepairResult>('repair', `repair-${name}`, 20_000);
      assert.equal(status.result?.status, 'refused', `${name}: ${JSON.stringify(status.result)}`);
      assert.equal(status.result?.steps.length, 0);
    }
    assert.deepEqual(await clusterState(cluster()), before, 'the cluster is exactly as it was');

    const entries = await audit();
    const refused = entries.filter((r) => r.action === 'repair.refused');
    assert.deepEqual(
      refused.map((r) => [r.actor, r.details?.reason, r.details?.verified]),
      [
        ['unverified:UATTACKER', 'unsigned', false],
        ['unverified:UATTACKER', 'bad_signature', false],
        ['unverified:U0APPROVER', 'mismatch', false],
      ],
    );
    assert.ok(!entries.some((r) => r.action === 'repair.started' || r.action === 'repair.step'), 'nothing started');
    assert.equal(await redis.exists(`${prefix}:lock:repair:test`), 0, 'the lock was never taken');

    // The control: the same plan, approved and signed as the Slack app does, repairs the cluster.
    const signed = await approvedRepair(config(), {
      cluster: 'test',
      planId,
      approvalId: 'approval-ok',
      approvedBy: 'U0APPROVER',
      origin: { kind: 'cli', user: 'x' },
    });
    await queue.add('repair', signed, { jobId: repairJobId(planId, 'approval-ok') });
    const ok = await workers.waitForJob<RepairResult>('repair', repairJobId(planId, 'approval-ok'), 30_000);
    assert.equal(ok.result?.status, 'repaired', JSON.stringify(ok.result));
    // A copy of that signed job under another id is not a second run: the approval is used up
    // (issue 11: single use), the replay is refused and audited under the signed approver, not
    // under the origin the copy claims.
    await queue.add(
      'repair',
      { ...signed, approvedBy: 'UATTACKER', origin: { kind: 'slack', channel: 'C0SHOP', user: 'UATTACKER' } },
      { jobId: 'repair-copy' },
    );
    const copy = await workers.waitForJob<RepairResult>('repair', 'repair-copy', 20_000);
    assert.equal(copy.result?.status, 'refused');
    assert.match(copy.result?.reason ?? '', /already used by job/);
    assert.equal((await audit()).filter((r) => r.action === 'repair.started').length, 1);
    const replay = (await audit()).find((r) => r.action === 'repair.refused' && r.details?.jobId === 'repair-copy');
    assert.deepEqual([replay?.actor, replay?.details?.reason, replay?.details?.verified], ['replay:U0APPROVER', 'approval_used', true]);
    assert.ok(Number(await redis.pttl(`${prefix}:medic:approval-used:approval-ok`)) > 0, 'the used mark expires with the approval');
  });
});
