// What the monitor's probe thread runs (probe-thread.ts): the light probe of a poll, and the full
// diagnosis of a deep check or of an open incident. At 1000 nodes each reads 126 MB of replies
// and parses a million lines; on the thread none of that holds up the loop that acks Slack.
// Requests and results are plain data: they cross between threads by structured clone.
import { createHash } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { collectSnapshot } from '../cluster/collect-snapshot';
import { ConnectionPool } from '../cluster/connection-pool';
import type { ClusterSnapshot } from '../cluster/types';
import type { ClusterConfig } from '../config/schema';
import { type CollectConfig, collectOptionsFor, diagnoseCluster } from '../engine';
import type { LastKnownLookup, PlannedReport } from '../repair/types';
import { assessLightProbe, knownAddresses, type LightAssessment, type NodeState, nodeStates } from './assess';

export interface LightProbeRequest {
  cluster: ClusterConfig;
  config: CollectConfig;
  /** The configured seeds and every node the last poll knew. */
  seeds: string[];
  /** The poll's time, stamped on each node state. */
  at: number;
}

export interface LightProbeResult {
  assessment: LightAssessment;
  /** Every address the cluster lists as a member, plus those that answered (the next poll's seeds). */
  known: string[];
  /** What each node that answered held. */
  states: NodeState[];
  /**
   * The probe without the nodes' replies (who was asked, who answered, why not): what the poll
   * reports when the full diagnosis finds not one node answering.
   */
  snapshot: ClusterSnapshot;
  /** The thread that ran it (worker_threads' threadId; 0 is the process's main thread). */
  threadId: number;
}

export interface DiagnosisRequest {
  cluster: ClusterConfig;
  config: CollectConfig;
  seeds: string[];
}

export interface DiagnosisResult {
  /** The report with its plans; the snapshot (the raw replies) stays where it was collected. */
  report: PlannedReport;
  threadId: number;
}

/**
 * The part of a cluster's config that collection and diagnosis read (where its nodes may be, how
 * to log in): all that crosses to the probe thread. Paging keys, approvers and channels stay here.
 */
export function probeTarget(cluster: ClusterConfig): ClusterConfig {
  const { name, seeds, username, password, tls, spareNodes, allowedNetworks, neverContact } = cluster;
  return {
    name,
    seeds,
    tls,
    spareNodes,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(allowedNetworks !== undefined ? { allowedNetworks } : {}),
    ...(neverContact !== undefined ? { neverContact } : {}),
  };
}

// Each cluster's node connections stay open between its light probes (a full diagnosis dials
// afresh, and leaves its connections for them: src/cluster/connection-pool.ts): one pool per cluster, replaced (its connections closed)
// when the settings its connections were made with change: credentials, TLS, timeouts, read cap.
const pools = new Map<string, { settings: string; pool: ConnectionPool }>();

function poolFor(cluster: ClusterConfig, config: CollectConfig): ConnectionPool {
  const { username, password, tls } = cluster;
  // A digest, so that the password is not kept a second time as part of a key.
  const settings = createHash('sha256')
    .update(
      JSON.stringify([username, password, tls, config.timeouts.connectMs, config.timeouts.commandMs, config.collection?.maxReplyBytes]),
    )
    .digest('hex');
  const known = pools.get(cluster.name);
  if (known?.settings === settings) return known.pool;
  known?.pool.close();
  const pool = new ConnectionPool();
  pools.set(cluster.name, { settings, pool });
  return pool;
}

/** Close every kept connection (shutdown; tests). */
export function closeConnectionPools(): void {
  for (const { pool } of pools.values()) pool.close();
  pools.clear();
}

export async function runLightProbe(request: LightProbeRequest): Promise<LightProbeResult> {
  const light = await collectSnapshot({
    ...collectOptionsFor(request.cluster, request.config),
    connections: poolFor(request.cluster, request.config),
    seeds: request.seeds,
    commands: 'light',
    lightKeyCounts: true,
    probeBusPort: false,
  });
  return {
    assessment: assessLightProbe(light),
    known: knownAddresses(light),
    states: nodeStates(light, request.at),
    snapshot: { ...light, probes: light.probes.map(({ replies: _replies, ...probe }) => probe) },
    threadId,
  };
}

/** diagnoseCluster with the monitor's seeds; `lastKnown` reads the key history (kept in the queue Redis). */
export async function runDiagnosis(request: DiagnosisRequest, lastKnown: LastKnownLookup): Promise<DiagnosisResult> {
  // Every node is dialled afresh (causes and evidence never come from a kept connection); the
  // connections stay for the light probes that follow.
  const connections = poolFor(request.cluster, request.config).dialAfresh();
  const { report } = await diagnoseCluster(request.cluster, request.config, { seeds: request.seeds, connections }, { lastKnown });
  return { report, threadId };
}
