import type { Finding } from '../types';
import { evidenceLine, seenRaw, type ClusterModel } from '../model';
import { plural } from '../../text';
import { lingeringOfKind } from './lingering';

/**
 * Stale entries that linger in the tables without serving or holding anything: `noaddr`
 * leftovers, old ids of nodes restarted with an empty nodes.conf, failed slot-less masters.
 * Gossip keeps them alive until every live node forgets them. Failed replicas, handshakes and
 * masters in an epoch conflict are not ghosts (see lingering.ts).
 */
export function ghostNodes(model: ClusterModel): Finding[] {
  const ghosts = lingeringOfKind(model, 'ghost');
  if (ghosts.length === 0) return [];
  return [
    {
      code: 'GHOST_NODES',
      severity: 'warning',
      category: 'fault',
      title: `${plural(ghosts.length, 'ghost node')} in the cluster tables`,
      detail:
        ghosts.map(({ node, why }) => `${node.addr || 'no address'} (${node.id.slice(0, 8)}) ${why}`).join('; ') +
        '. If they will not come back, CLUSTER FORGET them on every live node within 60 s, or gossip brings them back.',
      evidence: ghosts.flatMap(({ node }) => node.seenBy.slice(0, 1).map((s) => evidenceLine(s.viewer, seenRaw(s)))),
      nodes: ghosts.map(({ node }) => node.id),
      slots: [],
    },
  ];
}
