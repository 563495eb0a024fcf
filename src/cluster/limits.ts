/**
 * Caps on what collection reads from the nodes of one cluster. A node's answers are data and
 * may be hostile or broken (a handshake storm, a fake node): none of them may make the bot,
 * which shares its process with the Slack acks, read or hold without bound.
 *
 * Sized from the largest real clusters: Redis advises at most ~1000 nodes, whose CLUSTER NODES
 * is ~150 bytes a line plus at most ~200 KB of slot ranges (16384 single slots), so ~350 KB.
 */
export interface CollectionLimits {
  /** Bytes read from one node per probe (every reply on its connection): past it the answer is dropped. */
  maxReplyBytes: number;
  /** Lines of one node's CLUSTER NODES: past it the answer is dropped. */
  maxClusterNodesLines: number;
  /** Nodes asked per collection, seeds included: listed addresses past it are not followed. */
  maxNodes: number;
}

export const DEFAULT_COLLECTION_LIMITS: Readonly<CollectionLimits> = {
  maxReplyBytes: 2 * 1024 * 1024,
  maxClusterNodesLines: 5000,
  maxNodes: 1000,
};

/**
 * Connections open at once to the nodes of one cluster (a collection's probes and bus-port checks,
 * a repair's verification round). Every node is still asked concurrently with its own timeouts,
 * but a 1000-node cluster is not dialled all at once: a thousand handshakes and replies landing
 * together in one process would spend a node's timeout waiting for our own event loop, and report
 * healthy nodes as not answering.
 */
export const MAX_NODES_IN_FLIGHT = 128;
