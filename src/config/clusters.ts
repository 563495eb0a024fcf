import { addrKey, comparableAddr, parseHostPort } from '../cluster/address';
import { ErrorCode, RedisMedicError } from '../errors';
import type { ClusterConfig, Config } from './schema';

export function findCluster(config: Pick<Config, 'clusters'>, name: string): ClusterConfig {
  const cluster = config.clusters.find((c) => c.name === name);
  if (!cluster) throw unknownCluster(config, name);
  return cluster;
}

export function unknownCluster(config: Pick<Config, 'clusters'>, name: string): RedisMedicError {
  const known = config.clusters.map((c) => c.name);
  return new RedisMedicError(
    ErrorCode.UnknownCluster,
    `unknown cluster "${name}". ${known.length ? `Known clusters: ${known.join(', ')}` : 'No clusters are configured.'}`,
  );
}

/**
 * Resolve what a user typed (a cluster name, or a host:port) to a configured cluster. An
 * address is accepted only when it is a seed or spare of a configured cluster (or a node the
 * caller knows belongs to one): redis-medic never connects to an address a user made up.
 */
export function resolveClusterRef(config: Config, ref: string, knownNodes: (cluster: ClusterConfig) => string[] = () => []): ClusterConfig {
  const byName = config.clusters.find((c) => c.name === ref);
  if (byName) return byName;
  let key: string;
  try {
    parseHostPort(ref);
    key = addrKey(ref);
  } catch {
    throw unknownCluster(config, ref);
  }
  const owner = config.clusters.find((c) => [...c.seeds, ...c.spareNodes, ...knownNodes(c)].some((a) => comparableAddr(a) === key));
  if (!owner) {
    throw new RedisMedicError(
      ErrorCode.AddressNotAllowed,
      `${ref} is not a node of any configured cluster; redis-medic only connects to configured clusters (${config.clusters.map((c) => c.name).join(', ') || 'none configured'}).`,
    );
  }
  return owner;
}
