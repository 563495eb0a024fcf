// The layout of every key redis-medic keeps in the queue Redis besides BullMQ's own. BullMQ owns
// `<prefix>:<queue>:*` (diagnose, repair, monitor); none of ours starts with a queue name, so an
// obliterated queue never takes our state with it. Every module names its keys here and nowhere
// else: a change of layout is a change of this file, and test/unit/queue-keys.test.ts lists it.

/** `<prefix>:<part>:<part>...`: every key below is made by this one join. */
function queueKey(prefix: string, ...parts: Array<string | number>): string {
  return [prefix, ...parts].join(':');
}

/** `<prefix>:medic:<part>...`: state of our own that is not a Slack record, a lock, the audit stream or a metric. */
export function medicKey(prefix: string, ...parts: Array<string | number>): string {
  return queueKey(prefix, 'medic', ...parts);
}

/** Every key of the queue Redis that redis-medic writes, by what it holds. */
export function queueKeys(prefix: string) {
  return {
    /** The audit stream (src/audit/audit-log.ts). */
    audit: () => queueKey(prefix, 'audit'),
    /** The per-cluster repair lock (src/repair/lock.ts). */
    repairLock: (cluster: string) => queueKey(prefix, 'lock', 'repair', cluster),
    /** A repair run's step records, and the mark that it started (src/jobs/processors/repair.ts). */
    repairProgress: (runKey: string) => medicKey(prefix, 'repair-progress', runKey),
    repairStarted: (runKey: string) => medicKey(prefix, 'repair-started', runKey),
    /** Which approval a queued repair job carries (src/jobs/queues.ts). */
    repairApproval: (jobId: string) => medicKey(prefix, 'repair-approval', jobId),
    /** Serialises the monitor schedulers' sync across processes (src/jobs/scheduler.ts). */
    schedulerSync: () => medicKey(prefix, 'scheduler-sync'),
    /** An approval that a worker used: one run per approval (src/repair/approval.ts). */
    approvalUsed: (approvalId: string) => medicKey(prefix, 'approval-used', approvalId),
    /** A pending approval, its votes and its claim (src/slack/approvals.ts; the claim's name dates from when only Slack claimed). */
    approval: (approvalId: string) => queueKey(prefix, 'slack', 'approval', approvalId),
    approvalVotes: (approvalId: string) => queueKey(prefix, 'slack', 'approval', approvalId, 'votes'),
    approvalClaim: (approvalId: string) => queueKey(prefix, 'slack', 'approval', approvalId, 'claim'),
    /** The replay guard: a signed Slack request already seen (src/slack/request-guard.ts). */
    slackRequestSeen: (digest: string) => queueKey(prefix, 'slack', 'seen', digest),
    /** Fix messages with buttons posted outside an incident thread, per cluster (src/slack/open-incident.ts). */
    standaloneFixes: (cluster: string) => queueKey(prefix, 'slack', 'standalone-fixes', cluster),
    /** One diagnosis per cluster in flight (src/slack/inflight-diagnoses.ts). */
    inflightDiagnosis: (kind: string, cluster: string) => queueKey(prefix, 'slack', 'inflight', kind, cluster),
    /** Each cluster's last state posted, and the thread of a request (src/slack/cluster-states.ts). */
    slackLastState: () => queueKey(prefix, 'slack', 'last-state'),
    slackRequest: (channel: string, ts: string) => queueKey(prefix, 'slack', 'request', channel, ts),
    /** A user's requests in one rate-limit window (src/slack/rate-limit.ts). */
    slackRate: (user: string, window: number) => queueKey(prefix, 'slack', 'rate', user, window),
    /** The metrics' per-cluster summary and last healthy time (src/metrics/domain.ts). */
    metricsSummary: (cluster: string) => queueKey(prefix, 'metrics', 'cluster', cluster),
    metricsLastHealthy: (cluster: string) => queueKey(prefix, 'metrics', 'last-healthy', cluster),
    /** A cluster's silence, from a command or a maintenance window (src/incidents/silences.ts). */
    silence: (cluster: string) => medicKey(prefix, 'silence', cluster),
    /** A cluster's incident state (src/incidents/store.ts). */
    incidents: (cluster: string) => ({
      incident: medicKey(prefix, 'incident', cluster),
      resolved: medicKey(prefix, 'incidents-resolved', cluster),
      known: medicKey(prefix, 'known-nodes', cluster),
      nodeAddrs: medicKey(prefix, 'node-addrs', cluster),
      node: (id: string) => medicKey(prefix, 'node-history', cluster, id),
      riskDigest: medicKey(prefix, 'risk-digest', cluster),
      deepCheck: medicKey(prefix, 'deep-checked', cluster),
    }),
  };
}
