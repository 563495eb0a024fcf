// The layout of redis-medic's keys in the queue Redis, in one list: a key renamed by accident
// would orphan state (an open incident, a held lock, a used approval) across an upgrade.
import assert from 'node:assert/strict';
import { medicKey, queueKeys } from '../../src/queue-keys';

describe('queue-keys: the key layout in the queue Redis', () => {
  it('names every key exactly as released versions did', () => {
    const k = queueKeys('rm');
    const incident = k.incidents('shop');
    assert.deepEqual(
      {
        audit: k.audit(),
        repairLock: k.repairLock('shop'),
        repairProgress: k.repairProgress('run-1'),
        repairStarted: k.repairStarted('run-1'),
        repairApproval: k.repairApproval('job-1'),
        schedulerSync: k.schedulerSync(),
        approvalUsed: k.approvalUsed('ap-1'),
        approval: k.approval('ap-1'),
        approvalVotes: k.approvalVotes('ap-1'),
        approvalClaim: k.approvalClaim('ap-1'),
        slackRequestSeen: k.slackRequestSeen('d1g35t'),
        standaloneFixes: k.standaloneFixes('shop'),
        inflightDiagnosis: k.inflightDiagnosis('diagnose', 'shop'),
        slackLastState: k.slackLastState(),
        slackRequest: k.slackRequest('C1', '1700000000.000100'),
        slackRate: k.slackRate('U1', 28333333),
        metricsSummary: k.metricsSummary('shop'),
        metricsLastHealthy: k.metricsLastHealthy('shop'),
        silence: k.silence('shop'),
        incident: incident.incident,
        incidentsResolved: incident.resolved,
        knownNodes: incident.known,
        nodeAddrs: incident.nodeAddrs,
        nodeHistory: incident.node('n1'),
        riskDigest: incident.riskDigest,
        deepCheck: incident.deepCheck,
      },
      {
        audit: 'rm:audit',
        repairLock: 'rm:lock:repair:shop',
        repairProgress: 'rm:medic:repair-progress:run-1',
        repairStarted: 'rm:medic:repair-started:run-1',
        repairApproval: 'rm:medic:repair-approval:job-1',
        schedulerSync: 'rm:medic:scheduler-sync',
        approvalUsed: 'rm:medic:approval-used:ap-1',
        approval: 'rm:slack:approval:ap-1',
        approvalVotes: 'rm:slack:approval:ap-1:votes',
        approvalClaim: 'rm:slack:approval:ap-1:claim',
        slackRequestSeen: 'rm:slack:seen:d1g35t',
        standaloneFixes: 'rm:slack:standalone-fixes:shop',
        inflightDiagnosis: 'rm:slack:inflight:diagnose:shop',
        slackLastState: 'rm:slack:last-state',
        slackRequest: 'rm:slack:request:C1:1700000000.000100',
        slackRate: 'rm:slack:rate:U1:28333333',
        metricsSummary: 'rm:metrics:cluster:shop',
        metricsLastHealthy: 'rm:metrics:last-healthy:shop',
        silence: 'rm:medic:silence:shop',
        incident: 'rm:medic:incident:shop',
        incidentsResolved: 'rm:medic:incidents-resolved:shop',
        knownNodes: 'rm:medic:known-nodes:shop',
        nodeAddrs: 'rm:medic:node-addrs:shop',
        nodeHistory: 'rm:medic:node-history:shop:n1',
        riskDigest: 'rm:medic:risk-digest:shop',
        deepCheck: 'rm:medic:deep-checked:shop',
      },
    );
  });

  it('keeps every key out of the BullMQ queues key space (<prefix>:<queue>:*)', () => {
    const k = queueKeys('rm');
    const sample = [k.audit(), k.repairLock('diagnose'), k.approval('monitor'), k.metricsSummary('repair'), medicKey('rm', 'x')];
    for (const key of sample) assert.doesNotMatch(key, /^rm:(diagnose|repair|monitor):/, key);
  });
});
