import { isSilent } from '../../cluster/types';
import type { Finding } from '../types';
import { evidenceLine, type ClusterModel, type ModelNode } from '../model';
import { plural } from '../../text';

/**
 * Nodes that linger in the tables without serving anything: stuck handshakes, nodes with no
 * address, and failed nodes that own no slots (including an old id whose address a restarted,
 * emptied node now uses). Gossip keeps them alive until every live node forgets them.
 */
export function ghostNodes(model: ClusterModel): Finding[] {
  const ghosts: Array<{ node: ModelNode; why: string }> = [];
  const liveByAddr = new Map<string, ModelNode>();
  for (const node of model.nodes.values()) if (node.reachable === true && node.addr) liveByAddr.set(node.addr, node);

  for (const node of model.nodes.values()) {
    if (node.reachable === true || node.slots.length > 0) continue;
    const flags = node.seenBy.flatMap((s) => s.line.flags);
    const replacement = liveByAddr.get(node.addr);
    if (flags.includes('handshake')) ghosts.push({ node, why: 'stuck in handshake' });
    else if (flags.includes('noaddr')) ghosts.push({ node, why: 'has no address (noaddr)' });
    else if (replacement && replacement.id !== node.id) ghosts.push({ node, why: `an old id: ${node.addr} now answers as ${replacement.id.slice(0, 8)} (restarted with an empty nodes.conf?)` });
    // A process that accepts connections but does not reply (frozen, overloaded) is not a ghost.
    else if (node.health === 'down' && !isSilent(node.probe)) ghosts.push({ node, why: `failed and owns no slots (${node.role})` });
  }
  if (ghosts.length === 0) return [];
  return [{
    code: 'GHOST_NODES',
    severity: 'warning',
    category: 'fault',
    title: `${plural(ghosts.length, 'ghost node')} in the cluster tables`,
    detail:
      ghosts.map(({ node, why }) => `${node.addr || 'no address'} (${node.id.slice(0, 8)}) ${why}`).join('; ') +
      '. If they will not come back, CLUSTER FORGET them on every live node within 60 s, or gossip brings them back.',
    evidence: ghosts.flatMap(({ node }) => node.seenBy.slice(0, 1).map((s) => evidenceLine(s.viewer, s.line.raw))),
    nodes: ghosts.map(({ node }) => node.id),
    slots: [],
  }];
}

