import type { Finding } from '../types';
import { evidenceLine, label, type ClusterModel } from '../model';
import { plural } from '../../text';

/** A node whose cluster bus port cannot be reached: gossip and failover will fail across it. */
export function busPortUnreachable(model: ClusterModel): Finding[] {
  const closed = [...model.nodes.values()].filter((n) => n.probe?.busPort && !n.probe.busPort.reachable);
  if (closed.length === 0) return [];
  return [
    {
      code: 'BUS_PORT_UNREACHABLE',
      severity: 'warning',
      category: 'risk',
      title: `Cluster bus port unreachable on ${plural(closed.length, 'node')}`,
      detail:
        closed.map((n) => `${label(n)} bus port ${n.probe!.busPort!.port}: ${n.probe!.busPort!.error ?? 'closed'}`).join('; ') +
        '. Nodes talk on the bus port (by default data port + 10000); when it is closed by a firewall they flag each other failing.',
      evidence: closed.map((n) =>
        evidenceLine(n.addr, `redis-medic: TCP connect to bus port ${n.probe!.busPort!.port}: ${n.probe!.busPort!.error ?? 'closed'}`),
      ),
      nodes: closed.map((n) => n.id),
      slots: [],
    },
  ];
}
