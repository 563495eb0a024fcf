import type { Finding } from '../types';
import { evidenceLine, label, type ClusterModel } from '../model';
import { plural } from '../../text';

/** Replicas whose link to a live master is down: gossip can look healthy while replication is not. */
export function replicationBroken(model: ClusterModel): Finding[] {
  const broken = [...model.nodes.values()].filter((n) => {
    if (n.role !== 'replica' || !n.own || !n.masterId) return false;
    const master = model.nodes.get(n.masterId);
    return n.own.replication['master_link_status'] === 'down' && master?.health === 'up';
  });
  if (broken.length === 0) return [];
  return [{
    code: 'REPLICATION_BROKEN',
    severity: 'warning',
    category: 'fault',
    title: `${plural(broken.length, 'replica')} not replicating from a live master`,
    detail:
      broken.map((r) => `${label(r)} reports master_link_status:down towards ${model.nodes.get(r.masterId!)?.addr ?? r.masterId}`).join('; ') +
      '. A failover now would promote stale data. Check masterauth, the network and the master\'s log.',
    evidence: broken.map((r) => evidenceLine(r.addr, `master_link_status:${r.own!.replication['master_link_status']} master_host:${r.own!.replication['master_host'] ?? '?'} master_port:${r.own!.replication['master_port'] ?? '?'}`)),
    nodes: broken.map((r) => r.id),
    slots: [],
  }];
}
