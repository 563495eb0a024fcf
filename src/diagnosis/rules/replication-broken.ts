import type { Finding } from '../types';
import { evidenceLine, label, type ClusterModel, type ModelNode } from '../model';
import { RECONNECT_NODE_TIMEOUTS, replicaLink, type ReplicaLink } from './transitions';
import { plural } from '../../text';

/**
 * Replicas whose link to a live master is down and stays down: gossip can look healthy while
 * replication is not. A first sync or resync under way and a link down for less than its bound
 * are transitions (rules/transitions.ts), not this fault.
 */
export function replicationBroken(model: ClusterModel): Finding[] {
  const broken = [...model.nodes.values()]
    .map((n) => ({ replica: n, link: replicaLink(model, n) }))
    .filter((e): e is { replica: ModelNode; link: Extract<ReplicaLink, { kind: 'broken' }> } => e.link?.kind === 'broken');
  if (broken.length === 0) return [];
  const why = ({ replica, link }: (typeof broken)[number]): string => {
    const master = model.nodes.get(replica.masterId!)?.addr ?? replica.masterId;
    if (link.stalled)
      return `${label(replica)} has been in a full sync from ${master} with no exchange for ${link.stalled.lastIoS} s, longer than repl-timeout (${link.stalled.replTimeoutS} s)`;
    if (link.downForS === null)
      return `${label(replica)} reports master_link_status:down towards ${master} and has not had a link since it started, and ${master} does not list it as syncing`;
    return `${label(replica)} reports master_link_status:down towards ${master} for ${link.downForS} s, past the ${RECONNECT_NODE_TIMEOUTS} x node-timeout a reconnect takes, and no sync is under way`;
  };
  return [
    {
      code: 'REPLICATION_BROKEN',
      severity: 'warning',
      category: 'fault',
      title: `${plural(broken.length, 'replica')} not replicating from a live master`,
      detail: `${broken.map(why).join('; ')}. A failover now would promote stale data. Check masterauth, the network and the master's log.`,
      evidence: broken.map(({ replica: r }) =>
        evidenceLine(
          r.addr,
          `master_link_status:${r.own!.replication['master_link_status']} master_sync_in_progress:${r.own!.replication['master_sync_in_progress'] ?? '?'} master_link_down_since_seconds:${r.own!.replication['master_link_down_since_seconds'] ?? '?'} master_host:${r.own!.replication['master_host'] ?? '?'} master_port:${r.own!.replication['master_port'] ?? '?'}`,
        ),
      ),
      nodes: broken.map(({ replica: r }) => r.id),
      slots: [],
    },
  ];
}
