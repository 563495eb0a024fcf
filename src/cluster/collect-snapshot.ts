import net from 'node:net';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import Redis from 'ioredis';
import pLimit from 'p-limit';
import { withDeadline } from '../deadline';
import { errorMessage } from '../errors';
import { slicedWork } from '../turns';
import { comparableAddr, parseHostPort } from './address';
import { DEFAULT_COLLECTION_LIMITS, MAX_NODES_IN_FLIGHT, type CollectionLimits } from './limits';
import type { NodeConnections, PooledConnection } from './connection-pool';
import { capReplyBytes } from './read-cap';
import { PASSWORD_REFUSED, refusedAuth } from './refused-auth';
import { NodeLineCache, parsedClusterNodes } from './parse-nodes';
import { busPortAllowed, clusterScope, type AddressScope } from './scope';
import { slotsOf, type SlotRange } from './slots';
import type {
  ClusterNodeLine,
  ClusterSnapshot,
  CollectionCapHit,
  NodeProbe,
  NodeReplies,
  OutOfScopeAddress,
  ProbeFailure,
  SlotKeyCounts,
} from './types';

export interface RedisAuth {
  username?: string;
  password?: string;
  /** true for default TLS, or node:tls options (ca, servername, ...). */
  tls?: boolean | TlsOptions;
}

export interface CollectOptions extends RedisAuth {
  cluster?: string;
  seeds: string[];
  /**
   * The only addresses that may be asked (and so get the credentials). Default: the seeds' own
   * networks, as for a configured cluster without allowedNetworks (src/cluster/scope.ts).
   */
  scope?: AddressScope;
  /** Caps on what is read (src/cluster/limits.ts); each missing one takes its default. */
  limits?: Partial<CollectionLimits>;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  /** TCP-connect to each answering node's cluster bus port (default true). */
  probeBusPort?: boolean;
  /** Only ask nodes; do not follow the addresses they list (the monitor's light probe). */
  discover?: boolean;
  /** Which commands to send (default: all). The monitor's light probe sends fewer. */
  commands?: 'full' | 'light';
  /** With commands 'light': also send DBSIZE (the monitor records each node's key count per poll). */
  lightKeyCounts?: boolean;
  /**
   * Shared by the probes of one collection: set once a node took CONFIG GET one parameter at a
   * time only (Redis < 7), so the next probes ask that way at once instead of finding out again.
   */
  configGet?: { oneParameter: boolean };
  /**
   * Where a probe takes an open connection to its node and gives it back when it ended cleanly
   * (the monitor's light probes, every few seconds: src/cluster/connection-pool.ts says why only
   * those). Default: a connection per probe, closed after it.
   */
  connections?: NodeConnections;
  now?: () => number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 500;
export const DEFAULT_COMMAND_TIMEOUT_MS = 1000;
export const MAX_DISCOVERY_ROUNDS = 4;
const NOT_ASKED_SHOWN = 20;

/**
 * The only place that talks to a monitored cluster for a diagnosis: ask the seeds, then every
 * node they list, concurrently, each bounded by connect and command timeouts. A node that is
 * down or frozen is recorded as unreachable and never stalls the others, so this always ends.
 *
 * What the nodes list is data, not a place to go: only addresses inside the scope are asked;
 * the others are recorded with the line that named them. What is read is capped (bytes and
 * lines per node, nodes per collection), and a cap that bites is recorded, never silent.
 */
export async function collectSnapshot(options: CollectOptions): Promise<ClusterSnapshot> {
  const now = options.now ?? Date.now;
  const started = now();
  const configured = options.scope ?? clusterScope({ seeds: options.seeds });
  // Every view lists the same addresses (1000 nodes: a million lines, a thousand addresses):
  // each is judged once per collection.
  const verdicts = new Map<string, boolean>();
  const scope: AddressScope = {
    description: configured.description,
    ...(configured.entries ? { entries: configured.entries } : {}),
    ...(configured.never ? { never: (addr: string) => configured.never!(addr) } : {}),
    allows(addr) {
      let verdict = verdicts.get(addr);
      if (verdict === undefined) verdicts.set(addr, (verdict = configured.allows(addr)));
      return verdict;
    },
  };
  const limits: CollectionLimits = { ...DEFAULT_COLLECTION_LIMITS, ...options.limits };
  const probeOptions = { ...options, scope, limits, probeBusPort: false, configGet: options.configGet ?? { oneParameter: false } };
  const probes: NodeProbe[] = [];
  const asked = new Set<string>();
  const outOfScope = new Map<string, OutOfScopeAddress>();
  const capsHit: CollectionCapHit[] = [];
  const withinNodeCap = (addrs: string[]): string[] => {
    const room = Math.max(0, limits.maxNodes - probes.length);
    if (addrs.length <= room) return addrs;
    const notAsked = addrs.slice(room);
    capsHit.push({
      cap: 'maxNodes',
      limit: limits.maxNodes,
      notAsked: notAsked.slice(0, NOT_ASKED_SHOWN),
      detail: `${notAsked.length} listed address${notAsked.length === 1 ? ' was' : 'es were'} not asked: ${limits.maxNodes} nodes is the most one diagnosis asks (collection.maxNodes)`,
    });
    return addrs.slice(0, room);
  };

  // Each reply is parsed once, as it arrives (between the others' network waits); discovery, the
  // model, the rules and the monitor read that parse. Lines many nodes print alike are parsed once.
  const lineCache = new NodeLineCache();
  // Replies that land together are parsed one after the other with a turn of the event loop every
  // few milliseconds: as promise continuations they would all run in one block (a hundred 1000-line
  // replies at once), and nothing else in the process (a Slack ack) would run meanwhile.
  const inTurn = slicedWork();
  const listings = new Map<NodeProbe, Listing>();
  // Every distinct entry any reply listed (each is in the `fresh` of the reply that printed it first).
  const everyListed = new Set<ListedNode>();
  // Bus-port checks start as soon as any view lists a node, so they overlap the next round.
  const inFlight = pLimit(MAX_NODES_IN_FLIGHT);
  const bus = busPortChecker(options, scope, inFlight);
  // A seed outside the scope (the monitor's remembered nodes, after the config was narrowed) is
  // skipped without a word: if the cluster still lists it, its listing is reported below.
  let pending = withinNodeCap(unique(options.seeds).filter((addr) => scope.allows(addr)));
  for (let round = 0; round < MAX_DISCOVERY_ROUNDS && pending.length > 0; round++) {
    for (const addr of pending) asked.add(comparableAddr(addr));
    const results = await Promise.all(
      pending.map(async (addr) => {
        const probe = await inFlight(() => probeNode(addr, probeOptions));
        const listing = await inTurn(() => listingOf(probe.replies, lineCache));
        listings.set(probe, listing);
        for (const node of listing.fresh) everyListed.add(node);
        bus.startListed(listing);
        return probe;
      }),
    );
    probes.push(...results);
    for (const probe of results) {
      if (probe.status === 'discarded') capsHit.push(capHitOf(probe, limits));
      // A node known under another name (seed given as a hostname) is not asked twice.
      const announced = listings.get(probe)!.mine?.addr;
      if (announced) asked.add(comparableAddr(announced));
    }
    if (options.discover === false) break;
    // When every entry listed so far is asked already (or out of scope, or the node itself), the
    // walk below would follow nothing: a healthy cluster's second round, where each of 1000 replies
    // lists the 1000 nodes just asked (a million entries) is skipped.
    if (!anyToFollow(everyListed, asked, outOfScope)) break;
    const next: string[] = [];
    const queued = new Set<string>();
    // Most views list a node through one shared entry: its address is looked at once per round.
    const looked = new Set<ListedNode>();
    for (const probe of results) {
      const listing = listings.get(probe)!;
      listing.entries().nodes.forEach((node, i) => {
        if (node.myself || looked.has(node)) return;
        looked.add(node);
        const { addr } = node;
        const key = (node.key ??= comparableAddr(addr));
        if (asked.has(key) || queued.has(key) || outOfScope.has(key)) return;
        if (!scope.allows(addr)) {
          outOfScope.set(key, {
            addr,
            namedBy: probe.addr,
            line: listing.entries().raw(i),
            ...(scope.never?.(addr) ? { queueRedis: true } : {}),
          });
          return;
        }
        queued.add(key);
        next.push(addr);
      });
    }
    pending = withinNodeCap(next);
  }

  await Promise.all([...probes.map((probe) => bus.attach(probe, listings.get(probe)!)), countOpenSlotKeys(probes, probeOptions)]);
  return {
    cluster: options.cluster ?? options.seeds.join(','),
    seeds: options.seeds,
    takenAt: new Date(started).toISOString(),
    durationMs: now() - started,
    probes,
    scope: scope.description,
    ...(scope.entries ? { scopeEntries: [...scope.entries] } : {}),
    ...(outOfScope.size ? { outOfScope: [...outOfScope.values()] } : {}),
    ...(capsHit.length ? { capsHit } : {}),
  };
}

function capHitOf(probe: NodeProbe, limits: CollectionLimits): CollectionCapHit {
  const cap = probe.failure === 'too-many-lines' ? 'maxClusterNodesLines' : 'maxReplyBytes';
  return { cap, limit: limits[cap], addr: probe.addr, detail: probe.error ?? 'answer dropped' };
}

/**
 * TCP connects to cluster bus ports, each (host, bus port) once. A node's result is attached to
 * its probe only when it answered, for the bus port its own `myself` line announces.
 */
function busPortChecker(options: Omit<CollectOptions, 'seeds'>, scope: AddressScope, inFlight: pLimit.Limit) {
  const enabled = options.probeBusPort !== false && options.commands !== 'light';
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const checks = new Map<string, Promise<{ reachable: boolean; error?: string }>>();
  const check = (host: string, port: number) => {
    const key = `${host}@${port}`;
    let pending = checks.get(key);
    if (!pending) {
      pending = inFlight(() => tcpReachable(host, port, timeoutMs));
      checks.set(key, pending);
    }
    return pending;
  };
  const started = new Set<ListedNode>();
  return {
    startListed(listing: Listing): void {
      if (!enabled) return;
      // Only the entries of lines this reply printed first: its other lines are shared, and their
      // entries were started with the reply that printed them first (a million lines, 1000 nodes).
      for (const node of listing.fresh) {
        // A line the cache does not keep (a myself line) may name an address already started.
        if (started.has(node)) continue;
        started.add(node);
        const { addr, bus: busPort } = node;
        // The bus port of a node we may ask, on the same host: nothing else is connected to.
        if (!busPort || !busPortAllowed(scope, addr, busPort)) continue;
        const host = addr.slice(0, addr.lastIndexOf(':'));
        if (host) void check(host, busPort);
      }
    },
    async attach(probe: NodeProbe, listing: Listing): Promise<void> {
      if (!enabled || probe.status !== 'ok') return;
      // The bus port its own `myself` line announces.
      const busPort = listing.mine?.bus;
      if (!busPort || !(busPort > 0) || !busPortAllowed(scope, probe.addr, busPort)) return;
      const { host } = parseHostPort(probe.addr);
      probe.busPort = { port: busPort, ...(await check(host, busPort)) };
    },
  };
}

/** Ask one node everything a diagnosis needs, in one pipeline, within a hard deadline. */
export async function probeNode(addr: string, options: Omit<CollectOptions, 'seeds'>): Promise<NodeProbe> {
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseHostPort(addr));
  } catch (err) {
    return { addr, status: 'unreachable', error: errorMessage(err), durationMs: 0 };
  }
  // collectSnapshot never gets here with such an address; a direct caller must not either.
  if (options.scope && !options.scope.allows(addr)) {
    return {
      addr,
      status: 'not-asked',
      error: `outside the addresses allowed for this cluster: ${options.scope.description}`,
      durationMs: 0,
    };
  }
  const pooled = options.connections?.take(addr);
  const probe = await probeOn(addr, host, port, options, pooled);
  // A kept connection that failed at once (closed under us: the node died or restarted since the
  // last poll, and its FIN or RST was not read yet) says less than a new one would (ECONNREFUSED,
  // or an answer): the node is asked once more on a new connection. A timeout is not retried (a
  // new connection would wait as long).
  if (pooled && probe.status === 'unreachable' && probe.failure !== 'no-reply') return probeOn(addr, host, port, options, undefined);
  return probe;
}

async function probeOn(
  addr: string,
  host: string,
  port: number,
  options: Omit<CollectOptions, 'seeds'>,
  pooled: PooledConnection | undefined,
): Promise<NodeProbe> {
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const started = Date.now();
  const limits: CollectionLimits = { ...DEFAULT_COLLECTION_LIMITS, ...options.limits };
  const redis = pooled?.redis ?? connectionTo(host, port, options);
  const opened = pooled?.opened ?? started;
  // Failures are reported through the probe result. With retries off, ioredis rejects
  // commands with "Connection is closed."; the socket error (ECONNREFUSED...) comes here.
  let socketError: unknown;
  const onError = (err: unknown): void => {
    socketError ??= err;
  };
  redis.on('error', onError);
  const bytes = pooled?.read ?? capReplyBytes(redis, limits.maxReplyBytes);
  // Given back to the pool (when there is one) only after a clean probe.
  let clean = false;
  // ioredis bounds connect and each command; this deadline bounds AUTH and anything between.
  const deadlineMs = connectTimeoutMs + commandTimeoutMs + 250;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(`no answer within ${deadlineMs} ms (frozen or overloaded?)`)), deadlineMs);
  });
  try {
    const replies = await Promise.race([
      askNode(redis, options.commands ?? 'full', {
        lightKeyCounts: options.lightKeyCounts === true,
        deadlineAt: started + deadlineMs,
        ...(options.configGet ? { configGet: options.configGet } : {}),
      }),
      deadline,
    ]);
    if (bytes.exceeded) return tooLarge(addr, bytes.received, limits, started);
    const lines = lineCount(replies.clusterNodes);
    if (lines > limits.maxClusterNodesLines) {
      return {
        addr,
        status: 'discarded',
        failure: 'too-many-lines',
        durationMs: Date.now() - started,
        error: `answered, but its CLUSTER NODES has ${lines.toLocaleString('en-US')} lines, over the cap of ${limits.maxClusterNodesLines.toLocaleString('en-US')} (collection.maxClusterNodesLines): its answer is not used`,
      };
    }
    const probe: NodeProbe = { addr, status: 'ok', durationMs: Date.now() - started, replies };
    clean = socketError === undefined;
    if (options.probeBusPort !== false && options.commands !== 'light') {
      const busPort = myBusPort(replies);
      if (busPort && (!options.scope || busPortAllowed(options.scope, addr, busPort)))
        probe.busPort = { port: busPort, ...(await tcpReachable(host, busPort, connectTimeoutMs)) };
    }
    return probe;
  } catch (err) {
    if (bytes.exceeded) return tooLarge(addr, bytes.received, limits, started);
    const cause =
      (await refusedAuth(err, Boolean(options.password), () => socketError)) ??
      (socketError && /Connection is closed|Stream isn't writeable/.test(errorMessage(err)) ? socketError : err);
    return { addr, status: 'unreachable', ...describeFailure(cause, connectTimeoutMs, commandTimeoutMs), durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
    if (clean && options.connections) {
      options.connections.give(addr, { redis, read: bytes, opened });
      redis.off('error', onError);
    }
    // Closed with its listener on: after the half-close, bytes the node still sends (a reply
    // nobody waits for any more) are emitted as an 'error', which must not throw.
    else redis.disconnect();
  }
}

/** One short-lived connection: no retries, no offline queue, every command bounded. */
function connectionTo(host: string, port: number, options: Omit<CollectOptions, 'seeds'>): Redis {
  return new Redis({
    host,
    port,
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
    ...(options.tls ? { tls: options.tls === true ? {} : options.tls } : {}),
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    // ioredis otherwise sends CLIENT SETINFO twice on connect and waits for both answers before the
    // first command: a whole round trip more per node and probe (an error reply before Redis 7.2).
    disableClientInfo: true,
    autoResubscribe: false,
  });
}

function tooLarge(addr: string, received: number, limits: CollectionLimits, started: number): NodeProbe {
  return {
    addr,
    status: 'discarded',
    failure: 'reply-too-large',
    durationMs: Date.now() - started,
    error: `answered more than ${limits.maxReplyBytes.toLocaleString('en-US')} bytes (collection.maxReplyBytes; stopped reading at ${received.toLocaleString('en-US')}): its answer is not used`,
  };
}

function lineCount(text: string): number {
  let lines = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines++;
  return text.length > 0 && !text.endsWith('\n') ? lines + 1 : lines;
}

interface AskOptions {
  lightKeyCounts: boolean;
  /** When the probe's hard deadline fires (epoch ms): a second round trip must end before it. */
  deadlineAt: number;
  configGet?: { oneParameter: boolean };
}

async function askNode(
  redis: Redis,
  commands: 'full' | 'light',
  { lightKeyCounts, deadlineAt, configGet }: AskOptions,
): Promise<NodeReplies> {
  // A connection from the pool is open already.
  if (redis.status !== 'ready') {
    try {
      await redis.connect();
    } catch (err) {
      throw new ConnectFailure(err);
    }
  }
  if (commands === 'light') {
    const [nodes, info, dbsize] = await Promise.all([
      redis.call('CLUSTER', 'NODES') as Promise<string>,
      redis.call('CLUSTER', 'INFO') as Promise<string>,
      // Best effort, like the full probe: a DBSIZE denied by ACL must not make the node look down.
      lightKeyCounts ? (redis.call('DBSIZE') as Promise<number>).catch(() => undefined) : undefined,
    ]);
    return { clusterNodes: nodes, clusterInfo: info, ...(typeof dbsize === 'number' ? { dbsize } : {}) };
  }
  const oneByOne = configGet?.oneParameter === true;
  const pipeline = redis.pipeline().call('CLUSTER', 'NODES').call('CLUSTER', 'INFO');
  if (oneByOne) for (const parameter of CONFIG_PARAMETERS) pipeline.call('CONFIG', 'GET', parameter);
  else pipeline.call('CONFIG', 'GET', ...CONFIG_PARAMETERS);
  pipeline
    .call('INFO', 'replication')
    .call('DBSIZE')
    // The node's own clock, to read CLUSTER NODES ping/pong times (ms in its clock) as ages.
    .call('TIME');
  const results = await pipeline.exec();
  if (!results) throw new Error('pipeline returned nothing');
  const configCount = oneByOne ? CONFIG_PARAMETERS.length : 1;
  const [nodes, info] = results;
  const configReplies = results.slice(2, 2 + configCount);
  const [replication, dbsize, time] = results.slice(2 + configCount);
  // CLUSTER NODES is essential; the rest is best effort (CONFIG may be renamed or denied by ACL).
  if (nodes?.[0]) throw nodes[0];
  const config = oneByOne ? configFromPairs(configReplies) : await configOf(redis, configReplies[0], deadlineAt, configGet);
  return {
    clusterNodes: String(nodes?.[1] ?? ''),
    ...(info && !info[0] ? { clusterInfo: String(info[1]) } : {}),
    config,
    ...(replication && !replication[0] ? { infoReplication: String(replication[1]) } : {}),
    ...(dbsize && !dbsize[0] ? { dbsize: Number(dbsize[1]) } : {}),
    ...(time && !time[0] && Array.isArray(time[1]) ? { timeMs: Number(time[1][0]) * 1000 + Math.floor(Number(time[1][1]) / 1000) } : {}),
  };
}

/**
 * The configuration a diagnosis reads. Whether the cluster fails without full coverage, and its
 * node timeout; whether a replica promotes itself (its data must be younger than node-timeout x
 * validity-factor + ping period); when a replica's first sync starts and when Redis gives up on
 * a silent one (the bounds of a sync: a transition, not broken replication, while it lasts).
 */
const CONFIG_PARAMETERS = [
  'cluster-require-full-coverage',
  'cluster-node-timeout',
  'cluster-replica-validity-factor',
  'repl-ping-replica-period',
  'repl-diskless-sync',
  'repl-diskless-sync-delay',
  'repl-timeout',
] as const;

/** Redis < 7's answer to CONFIG GET with several parameters (an arity error). */
const ONE_PARAMETER_ONLY = /wrong number of arguments|unknown subcommand/i;
/** Kept free before the probe's deadline: the second round trip gives up this long before it fires. */
const DEADLINE_MARGIN_MS = 50;

/**
 * The parameters from one CONFIG GET of all of them (Redis >= 7 takes several), or, when the node
 * refuses that with Redis < 7's arity error, from one CONFIG GET per parameter on the same
 * connection: what asking one by one always gave. Any other refusal (renamed, NOPERM, a timeout,
 * LOADING) leaves the configuration unknown, as it did when each parameter was asked alone.
 *
 * The second round trip never costs the node its answer: what has not come back shortly before
 * the probe's deadline is left unknown, and the node is reported from what it answered. Once one
 * node needed it, the collection's later probes ask one parameter at a time from the start.
 *
 * Keys are in the order of CONFIG_PARAMETERS whatever order the node answered in, so a snapshot
 * reads the same.
 */
async function configOf(
  redis: Redis,
  reply: [Error | null, unknown] | undefined,
  deadlineAt: number,
  configGet: { oneParameter: boolean } | undefined,
): Promise<Record<string, string>> {
  if (reply && !reply[0]) return configFromPairs([reply]);
  if (!reply || !ONE_PARAMETER_ONLY.test(reply[0]!.message)) return {};
  if (configGet) configGet.oneParameter = true;
  const left = deadlineAt - Date.now() - DEADLINE_MARGIN_MS;
  if (left <= 0) return {};
  const pipeline = redis.pipeline();
  for (const parameter of CONFIG_PARAMETERS) pipeline.call('CONFIG', 'GET', parameter);
  return configFromPairs((await withDeadline(pipeline.exec(), left).catch(() => null)) ?? []);
}

function configFromPairs(replies: Array<[Error | null, unknown]>): Record<string, string> {
  const answered = new Map<string, string>();
  for (const [err, value] of replies) {
    const pairs = !err && Array.isArray(value) ? (value as unknown[]) : [];
    // Names and values are bulk strings; anything else (a nil, an integer from an odd node) is not
    // a setting we can read, and stays unknown rather than becoming the text "null".
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const [name, setting] = [pairs[i], pairs[i + 1]];
      if (typeof name === 'string' && typeof setting === 'string') answered.set(name, setting);
    }
  }
  const config: Record<string, string> = {};
  for (const parameter of CONFIG_PARAMETERS) {
    const value = answered.get(parameter);
    if (value !== undefined) config[parameter] = value;
  }
  for (const [name, value] of answered) if (!(name in config)) config[name] = value;
  return config;
}

// A resharding opens one slot at a time; this bounds the work if a node reports many.
const MAX_OPEN_SLOTS_COUNTED = 256;

/**
 * For slots left MIGRATING or IMPORTING, how many keys each end holds (CLUSTER COUNTKEYSINSLOT),
 * asked of the nodes that already answered: whether an interrupted migration can be undone,
 * finished, or needs its keys moved depends on it. Both ends are counted even when only one says
 * the slot is open. Best effort: a count that fails is left out (plans then say it is unknown).
 */
async function countOpenSlotKeys(probes: NodeProbe[], options: Omit<CollectOptions, 'seeds'>): Promise<void> {
  if (options.commands === 'light') return;
  const byId = new Map<string, NodeProbe>();
  const slotsOf = new Map<NodeProbe, Set<number>>();
  const ends: Array<{ slot: number; ids: string[] }> = [];
  for (const probe of probes) {
    if (probe.status !== 'ok' || !probe.replies) continue;
    const mine = myselfFields(probe.replies);
    if (!mine) continue;
    byId.set(mine[0]!, probe);
    for (const field of mine.slice(8)) {
      const open = /^\[(\d+)-[<>]-([0-9a-f]{40})\]$/.exec(field);
      if (open) ends.push({ slot: Number(open[1]), ids: [mine[0]!, open[2]!] });
    }
  }
  for (const { slot, ids } of ends) {
    for (const id of ids) {
      const probe = byId.get(id);
      if (!probe) continue;
      const slots = slotsOf.get(probe) ?? new Set<number>();
      if (slots.size < MAX_OPEN_SLOTS_COUNTED) slots.add(slot);
      slotsOf.set(probe, slots);
    }
  }
  await Promise.all(
    [...slotsOf].map(async ([probe, slots]) => {
      const counts = await countKeysInSlotsTwice(
        probe.addr,
        [...slots].sort((a, b) => a - b),
        options,
        OPEN_SLOT_RECOUNT_MS,
      ).catch(() => undefined);
      if (counts && Object.keys(counts.first).length > 0) {
        probe.replies!.openSlotKeys = counts.first;
        probe.replies!.openSlotKeysLater = { afterMs: OPEN_SLOT_RECOUNT_MS, counts: counts.later };
      }
    }),
  );
}

/**
 * Open slots are counted twice, this far apart: keys that move between the two counts are a
 * resharding at work (a transition), counts that stay put are an interrupted one (a fault).
 * redis-cli moves keys without pause while a slot is open, so 300 ms is plenty to see it.
 */
export const OPEN_SLOT_RECOUNT_MS = 300;

/** `CLUSTER COUNTKEYSINSLOT` for each slot, in one pipeline (slots whose count failed are left out). */
async function countKeysInSlots(addr: string, slots: number[], options: Omit<CollectOptions, 'seeds'>): Promise<Record<string, number>> {
  return (await countKeysInSlotsTwice(addr, slots, options, null)).first;
}

/**
 * The same, and again `recountAfterMs` later on the same connection (null: once), within one
 * hard deadline.
 */
async function countKeysInSlotsTwice(
  addr: string,
  slots: number[],
  options: Omit<CollectOptions, 'seeds'>,
  recountAfterMs: number | null,
): Promise<{ first: Record<string, number>; later: Record<string, number> }> {
  const { host, port } = parseHostPort(addr);
  const redis = connectionTo(host, port, options);
  redis.on('error', () => undefined);
  // Integers come back here; the same byte cap holds all the same (a hostile node may not care).
  capReplyBytes(redis, { ...DEFAULT_COLLECTION_LIMITS, ...options.limits }.maxReplyBytes);
  const commandMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const deadlineMs =
    (options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS) + commandMs + (recountAfterMs === null ? 0 : recountAfterMs + commandMs) + 250;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(`no answer within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    const count = async (): Promise<Record<string, number>> => {
      const pipeline = redis.pipeline();
      for (const slot of slots) pipeline.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot));
      const results = (await pipeline.exec()) ?? [];
      const counts: Record<string, number> = {};
      results.forEach(([err, n], i) => {
        if (!err) counts[String(slots[i])] = Number(n);
      });
      return counts;
    };
    const ask = async (): Promise<{ first: Record<string, number>; later: Record<string, number> }> => {
      await redis.connect();
      const first = await count();
      if (recountAfterMs === null) return { first, later: first };
      await new Promise((resolve) => setTimeout(resolve, recountAfterMs));
      return { first, later: await count() };
    };
    return await Promise.race([ask(), deadline]);
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

class ConnectFailure extends Error {
  constructor(readonly original: unknown) {
    super(errorMessage(original));
  }
}

class DeadlineExceeded extends Error {}

function describeFailure(err: unknown, connectTimeoutMs: number, commandTimeoutMs: number): { failure: ProbeFailure; error: string } {
  const original = err instanceof ConnectFailure ? err.original : err;
  const code = (original as { code?: string } | undefined)?.code;
  const message = errorMessage(original);
  if (original instanceof DeadlineExceeded) return { failure: 'no-reply', error: message };
  if (code === 'ECONNREFUSED') return { failure: 'refused', error: 'connection refused (ECONNREFUSED): nothing listens on that port' };
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return { failure: 'host-unreachable', error: `host unreachable (${code})` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { failure: 'unresolved', error: `host name does not resolve (${code})` };
  // ioredis reports these only as messages: the classification happens here, once.
  if (/ETIMEDOUT|connect timeout/i.test(message) || code === 'ETIMEDOUT')
    return { failure: 'connect-timeout', error: `connect timed out after ${connectTimeoutMs} ms` };
  if (/Command timed out/i.test(message))
    return { failure: 'no-reply', error: `connected, but no reply within ${commandTimeoutMs} ms (frozen or overloaded?)` };
  if (/NOAUTH/.test(message))
    return { failure: 'auth-required', error: 'authentication required (NOAUTH): configure the cluster password' };
  if (PASSWORD_REFUSED.test(message))
    return { failure: 'auth-failed', error: 'authentication failed (WRONGPASS): check the username and password' };
  if (/cluster support disabled/i.test(message))
    return { failure: 'not-cluster', error: 'answered, but cluster mode is disabled on this node' };
  return { failure: 'other', error: message };
}

function isTcpPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<{ reachable: boolean; error?: string }> {
  // net.connect throws on such a port: unawaited, that was an unhandled rejection (process exit).
  if (!isTcpPort(port)) return Promise.resolve({ reachable: false, error: `${port} is not a TCP port` });
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: { reachable: boolean; error?: string }): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ reachable: false, error: `connect timed out after ${timeoutMs} ms` }));
    socket.once('connect', () => done({ reachable: true }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ reachable: false, error: err.code ?? err.message }));
  });
}

/** A node a reply lists, as discovery needs it. Shared by the views that print its line alike. */
interface ListedNode {
  /** `host:port` as listed (the data port). */
  addr: string;
  bus?: number;
  myself: boolean;
  /** comparableAddr(addr), once computed. */
  key?: string;
}

/** The nodes one reply lists with an address (not noaddr, not `:0`), and who answered. */
interface Listing {
  /** Every entry, in line order, with the line that listed it: made on first use (discovery's walk). */
  entries(): ListingEntries;
  mine?: ListedNode;
  /**
   * The listed nodes of the lines this reply was the first to print (the parse's firstSeen): every
   * other line of it is a shared line object, listed by an earlier reply with the same ListedNode.
   */
  fresh: ListedNode[];
}

interface ListingEntries {
  nodes: ListedNode[];
  /** The line that listed nodes[i], trimmed, as this reply printed it: evidence when it is not followed. */
  raw(i: number): string;
}

const listedOfLine = new WeakMap<ClusterNodeLine, ListedNode | null>();

/**
 * Discovery reads the reply's one parse. A reply that does not parse is still read field by
 * field (discovery must not fail on one odd line; the diagnosis reports the unreadable reply).
 */
function listingOf(replies: NodeReplies | undefined, cache: NodeLineCache): Listing {
  if (!replies) return { entries: () => ({ nodes: [], raw: () => '' }), fresh: [] };
  const parsed = parsedClusterNodes(replies, cache);
  if (parsed.error) {
    const listed = listedNodes(replies.clusterNodes);
    const nodes = listed.map(({ raw: _raw, ...node }) => node);
    const mine = nodes.find((n) => n.myself);
    const entries: ListingEntries = { nodes, raw: (i) => listed[i]?.raw ?? '' };
    return { entries: () => entries, ...(mine ? { mine } : {}), fresh: nodes };
  }
  const { lines, firstSeen } = parsed;
  const fresh: ListedNode[] = [];
  for (const index of firstSeen) {
    const node = listedNodeOfLine(lines[index]!);
    if (node) fresh.push(node);
  }
  // A myself line is never shared (the cache does not keep it), so the first listed as myself is
  // among this reply's own, in line order.
  const mine = fresh.find((n) => n.myself);
  let entries: ListingEntries | undefined;
  const entriesOf = (): ListingEntries => {
    const nodes: ListedNode[] = [];
    const at: number[] = [];
    lines.forEach((line, index) => {
      const node = listedNodeOfLine(line);
      if (node) {
        nodes.push(node);
        at.push(index);
      }
    });
    return { nodes, raw: (i) => parsed.rawLine(at[i]!) };
  };
  return { entries: () => (entries ??= entriesOf()), ...(mine ? { mine } : {}), fresh };
}

function listedNodeOfLine(line: ClusterNodeLine): ListedNode | null {
  let node = listedOfLine.get(line);
  if (node === undefined) {
    node = listedNodeOf(line.raw.split(/\s+/));
    listedOfLine.set(line, node);
  }
  return node;
}

/** Whether an entry names an address not asked yet, not known out of scope, and not its own node's. */
function anyToFollow(listed: Iterable<ListedNode>, asked: Set<string>, outOfScope: Map<string, unknown>): boolean {
  for (const node of listed) {
    if (node.myself) continue;
    const key = (node.key ??= comparableAddr(node.addr));
    if (!asked.has(key) && !outOfScope.has(key)) return true;
  }
  return false;
}

/** The listed node of a line's fields, or null when it has no address to go to. */
function listedNodeOf(fields: string[]): ListedNode | null {
  if (fields.length < 8) return null;
  const flags = fields[2]!.split(',');
  if (flags.includes('noaddr')) return null;
  const endpoint = endpointOf(fields[1]!);
  if (!endpoint) return null;
  return { addr: endpoint.hostPort, ...(endpoint.bus ? { bus: endpoint.bus } : {}), myself: flags.includes('myself') };
}

/**
 * Cheap field extraction (no full parse), for a reply the parser refused. Lines without an
 * address (noaddr, `:0`) are left out. One pass over the reply.
 */
function listedNodes(clusterNodes: string | undefined): Array<ListedNode & { raw: string }> {
  if (!clusterNodes) return [];
  const out: Array<ListedNode & { raw: string }> = [];
  for (const line of clusterNodes.split('\n')) {
    const raw = line.trim();
    // Only the first fields matter here; slot lists can be long.
    const node = listedNodeOf(raw.split(/\s+/, 8));
    if (node) out.push({ ...node, raw });
  }
  return out;
}

function endpointOf(address: string): { hostPort: string; bus?: number } | undefined {
  const endpoint = address.split(',')[0] ?? '';
  const [hostPort = '', bus] = endpoint.split('@');
  if (hostPort.startsWith(':') || hostPort.endsWith(':0')) return undefined; // noaddr / unknown
  // A bus port is data like the rest: one no TCP port can be (70000, -1) is not checked at all.
  return { hostPort, ...(bus && isTcpPort(Number(bus)) && /^\d+$/.test(bus) ? { bus: Number(bus) } : {}) };
}

/** The fields of the `myself` line, whatever its address (`:0` included): from the reply's one parse. */
function myselfFields(replies: NodeReplies): string[] | undefined {
  const parsed = parsedClusterNodes(replies);
  if (!parsed.error) return parsed.myself?.raw.split(/\s+/);
  for (const line of replies.clusterNodes.split('\n')) {
    if (!line.includes('myself')) continue;
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 8 && fields[2]!.split(',').includes('myself')) return fields;
  }
  return undefined;
}

function myBusPort(replies: NodeReplies): number | undefined {
  const bus = myselfFields(replies)?.[1];
  const port = bus ? endpointOf(bus)?.bus : undefined;
  return port && port > 0 ? port : undefined;
}

function unique(addrs: string[]): string[] {
  const seen = new Set<string>();
  return addrs.filter((a) => {
    const key = comparableAddr(a);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Which slots to count keys in, on which nodes (see `keyCountRequest` in src/repair/plan.ts). */
export interface KeyCountRequest {
  addrs: string[];
  slots: SlotRange[];
}

/**
 * Where the keys of slots nobody serves are: `CLUSTER COUNTKEYSINSLOT` for each slot asked, on
 * each node asked, one pipeline per node, all nodes at once, each bounded like a probe
 * (COUNTKEYSINSLOT is O(1), so thousands of slots cost milliseconds). Best effort: a node that
 * does not answer every count gets none (the planner then says they are unknown), never an error.
 */
export async function countOrphanSlotKeys(
  request: KeyCountRequest,
  options: Omit<CollectOptions, 'seeds'>,
): Promise<Map<string, SlotKeyCounts>> {
  const slots = [...slotsOf(request.slots)];
  const out = new Map<string, SlotKeyCounts>();
  if (slots.length === 0) return out;
  await Promise.all(
    unique(request.addrs).map(async (addr) => {
      const counted = await countKeysInSlots(addr, slots, options).catch(() => undefined);
      if (!counted || Object.keys(counted).length !== slots.length) return;
      const counts: Record<string, number> = {};
      for (const [slot, n] of Object.entries(counted)) if (n > 0) counts[slot] = n;
      out.set(addr, { asked: request.slots, counts });
    }),
  );
  return out;
}
