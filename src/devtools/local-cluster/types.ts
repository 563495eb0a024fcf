// The shapes of the local cluster spawner's public API (re-exported by src/devtools/local-cluster.ts).
import type { Redis } from 'ioredis';

export interface SpawnClusterOptions {
  masters: number;
  replicasPerMaster?: number; // default 0
  spares?: number; // default 0: started in cluster mode but never met
  nodeTimeoutMs?: number; // default 1000 (cluster-node-timeout)
  slots?: Array<[number, number]>; // default: all 16384 slots split evenly (redis-cli style)
  requireFullCoverage?: boolean; // default true
  password?: string; // requirepass + masterauth when given
  /**
   * default 'none' (nothing on disk but nodes.conf: a restarted node comes back empty).
   * 'aof': append-only file, fsync always, so a node killed with SIGKILL and restarted comes
   * back with every write it had acknowledged or replicated (a shard restarted with its data).
   */
  persistence?: 'none' | 'aof';
}

export interface TestNode {
  host: string;
  port: number;
  busPort: number;
  addr: string;
  id: string;
  role: 'master' | 'replica' | 'spare'; // role at creation; failovers do not update it
  masterId?: string;
  slots: Array<[number, number]>; // assigned at creation (masters)
  dir: string;
  pid: number;
  alive: boolean;
  frozen: boolean;
}

export interface WaitOptions {
  timeoutMs?: number; // default 15000
  what?: string; // named in the timeout error
}

/** One parsed line of CLUSTER NODES. */
export interface ClusterNodeLine {
  id: string;
  addr: string; // host:port (without @bus / hostname)
  flags: string[]; // e.g. ['myself', 'master'], ['master', 'fail?']
  masterId: string | undefined;
  linkState: string; // connected | disconnected
  slots: string[]; // raw slot tokens, incl. '[5->-id]' / '[5-<-id]'
  raw: string;
}

export interface TestCluster {
  nodes: TestNode[];
  masters(): TestNode[];
  replicas(): TestNode[];
  replicasOf(master: TestNode): TestNode[];
  spares(): TestNode[];
  seeds: string[];
  nodeTimeoutMs: number;
  client(node: TestNode): Redis;
  kill(node: TestNode): Promise<void>;
  freeze(node: TestNode): void;
  thaw(node: TestNode): void;
  /** Kills it first if running; same port, dir and nodes.conf. `host`: come back at another loopback address (new IP, old nodes.conf). */
  restart(node: TestNode, options?: { host?: string }): Promise<void>;
  killMasters(count: number): Promise<TestNode[]>;
  delSlotsRange(node: TestNode, from: number, to: number): Promise<void>;
  openSlot(slot: number, source: TestNode, target: TestNode): Promise<void>;
  makeGhost(): Promise<{ id: string; addr: string }>;
  waitFor(pred: (infos: Map<string, string>) => boolean, opts?: WaitOptions): Promise<void>;
  waitUntilOk(opts?: WaitOptions): Promise<void>;
  waitUntilFail(opts?: WaitOptions): Promise<void>;
  waitUntilFlagged(target: TestNode | string, flag: 'fail' | 'fail?', opts?: WaitOptions): Promise<void>;
  teardown(): Promise<void>;
  // Extras (not in the original brief)
  /** The cluster's temp dir (each node has a sub dir). */
  rootDir: string;
  /** CLUSTER NODES of that node, parsed. */
  clusterNodes(node: TestNode): Promise<ClusterNodeLine[]>;
  /** CLUSTER INFO of that node, parsed into key/value pairs. */
  clusterInfo(node: TestNode): Promise<Record<string, string>>;
  /** Like waitFor, but the predicate gets each reachable node's parsed CLUSTER NODES (key = addr). */
  waitForNodes(pred: (views: Map<string, ClusterNodeLine[]>) => boolean, opts?: WaitOptions): Promise<void>;
}
