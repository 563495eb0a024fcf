// Spawns REAL redis-server processes in cluster mode on loopback, builds the
// cluster with plain commands (no redis-cli), and breaks it for real (SIGKILL, SIGSTOP,
// slot surgery, ghost nodes). Every wait polls a condition and is bounded by a timeout
// whose error names what was awaited and what was last observed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { trackProcess } from './processes';

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

export interface SpawnClusterOptions {
  masters: number;
  replicasPerMaster?: number;      // default 0
  spares?: number;                 // default 0: started in cluster mode but never met
  nodeTimeoutMs?: number;          // default 1000 (cluster-node-timeout)
  slots?: Array<[number, number]>; // default: all 16384 slots split evenly (redis-cli style)
  requireFullCoverage?: boolean;   // default true
  password?: string;               // requirepass + masterauth when given
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
  slots: Array<[number, number]>;       // assigned at creation (masters)
  dir: string;
  pid: number;
  alive: boolean;
  frozen: boolean;
}

export interface WaitOptions {
  timeoutMs?: number; // default 15000
  what?: string;      // named in the timeout error
}

/** One parsed line of CLUSTER NODES. */
export interface ClusterNodeLine {
  id: string;
  addr: string;                // host:port (without @bus / hostname)
  flags: string[];             // e.g. ['myself', 'master'], ['master', 'fail?']
  masterId: string | undefined;
  linkState: string;           // connected | disconnected
  slots: string[];             // raw slot tokens, incl. '[5->-id]' / '[5-<-id]'
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
  restart(node: TestNode): Promise<void>;
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

export const TOTAL_SLOTS = 16384;
const HOST = '127.0.0.1';
const DEFAULT_WAIT_MS = 15_000;
const START_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 50;
const START_ATTEMPTS = 3;

export async function spawnCluster(opts: SpawnClusterOptions): Promise<TestCluster> {
  const config = normalizeOptions(opts);
  const rootDir = await mkdtemp(path.join(os.tmpdir(), 'redis-medic-test-'));
  const cluster = new LocalCluster(rootDir, config);
  try {
    await cluster.build();
    return cluster;
  } catch (err) {
    // Never leave half-built clusters behind: the caller has no handle to tear them down.
    await cluster.teardown().catch(() => undefined);
    throw err;
  }
}

/** Polls `check` every 50 ms until it returns true; throws naming `what` on timeout. */
export async function eventually(check: () => boolean | Promise<boolean>, opts: WaitOptions = {}): Promise<void> {
  await pollUntil({
    what: opts.what ?? 'a condition',
    timeoutMs: opts.timeoutMs ?? DEFAULT_WAIT_MS,
    sample: async () => check(),
    done: (ok) => ok,
    describe: () => 'check returned false',
  });
}

// Ports handed out by this process: the OS may return a port that a stopped node still
// "owns" (e.g. a killed node we will restart, or a ghost other nodes still remember).
const handedOutPorts = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await bindEphemeralPort();
    if (!handedOutPorts.has(port)) {
      handedOutPorts.add(port);
      return port;
    }
  }
  throw new Error('freePort: could not find an unused loopback port after 100 attempts');
}

function bindEphemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}

// ---------------------------------------------------------------------------------------
// Parsing helpers (exported: handy in tests)
// ---------------------------------------------------------------------------------------

export function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map(parseClusterNodesLine);
}

function parseClusterNodesLine(raw: string): ClusterNodeLine {
  // <id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <epoch> <link> <slot>...
  const [id = '', addrField = '', flags = '', master = '-', , , , linkState = '', ...slots] = raw.split(' ');
  return {
    id,
    addr: addrField.split('@')[0] ?? addrField,
    flags: flags.split(','),
    masterId: master === '-' ? undefined : master,
    linkState,
    slots,
    raw,
  };
}

/** Parses `key:value` lines (CLUSTER INFO, INFO sections). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const sep = line.indexOf(':');
    if (sep > 0 && !line.startsWith('#')) out[line.slice(0, sep)] = line.slice(sep + 1).trim();
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

type SlotRange = [number, number];

interface ClusterConfig {
  masters: number;
  replicasPerMaster: number;
  spares: number;
  nodeTimeoutMs: number;
  requireFullCoverage: boolean;
  password: string | undefined;
  persistence: 'none' | 'aof';
  slotPlan: SlotRange[][]; // per master, in master order
  expectOk: boolean;       // whether the built cluster can reach cluster_state:ok
}

function normalizeOptions(opts: SpawnClusterOptions): ClusterConfig {
  const masters = requireCount('masters', opts.masters, 1);
  const slotPlan = planSlots(opts.slots ?? [[0, TOTAL_SLOTS - 1]], masters);
  const assigned = slotPlan.flat().reduce((sum, [from, to]) => sum + to - from + 1, 0);
  const requireFullCoverage = opts.requireFullCoverage ?? true;
  return {
    masters,
    replicasPerMaster: requireCount('replicasPerMaster', opts.replicasPerMaster ?? 0, 0),
    spares: requireCount('spares', opts.spares ?? 0, 0),
    nodeTimeoutMs: requireCount('nodeTimeoutMs', opts.nodeTimeoutMs ?? 1000, 1),
    requireFullCoverage,
    password: opts.password,
    persistence: opts.persistence ?? 'none',
    slotPlan,
    // With unassigned slots a full-coverage cluster can only ever say fail.
    expectOk: assigned === TOTAL_SLOTS || !requireFullCoverage,
  };
}

function requireCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new Error(`spawnCluster: ${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/**
 * Splits the given slots evenly over the masters in slot order, with the same rounding as
 * `redis-cli --cluster create` (3 masters over 0-16383: 0-5460, 5461-10922, 10923-16383).
 */
export function planSlots(ranges: SlotRange[], masters: number): SlotRange[][] {
  const slots = expandRanges(ranges);
  if (slots.length < masters) throw new Error(`spawnCluster: ${slots.length} slots cannot be split over ${masters} masters`);
  const perMaster = slots.length / masters;
  const plan: SlotRange[][] = [];
  let first = 0;
  for (let i = 0; i < masters; i++) {
    const last = i === masters - 1 ? slots.length - 1 : Math.round(perMaster * (i + 1) - 1);
    plan.push(compressSlots(slots.slice(first, last + 1)));
    first = last + 1;
  }
  return plan;
}

function expandRanges(ranges: SlotRange[]): number[] {
  const used = new Uint8Array(TOTAL_SLOTS);
  for (const [from, to] of ranges) {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to >= TOTAL_SLOTS || from > to) {
      throw new Error(`spawnCluster: invalid slot range [${from}, ${to}]`);
    }
    for (let slot = from; slot <= to; slot++) {
      if (used[slot]) throw new Error(`spawnCluster: slot ${slot} appears in more than one range`);
      used[slot] = 1;
    }
  }
  const slots: number[] = [];
  used.forEach((flag, slot) => { if (flag) slots.push(slot); });
  return slots;
}

function compressSlots(sorted: number[]): SlotRange[] {
  const out: SlotRange[] = [];
  for (const slot of sorted) {
    const current = out[out.length - 1];
    if (current && current[1] === slot - 1) current[1] = slot;
    else out.push([slot, slot]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------

/** Thrown inside a poll to abort it at once (e.g. the process being waited on died). */
class StopPolling extends Error {}

class RedisProcess {
  readonly child: ChildProcess;
  private outputTail = '';
  private spawnError: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(private readonly dir: string, args: string[]) {
    this.child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackProcess(this.child);
    // 'exit' may never fire when spawn itself fails, so 'error' also counts as exited.
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', (err) => { this.spawnError = err; resolve(); });
    });
    // Config errors go to stdout/stderr before the log file is opened: keep a tail.
    const keep = (chunk: Buffer): void => { this.outputTail = (this.outputTail + chunk.toString()).slice(-2000); };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  get hasExited(): boolean {
    return this.spawnError !== undefined || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(sig);
  }

  waitExit(): Promise<void> {
    return this.exited;
  }

  async kill(): Promise<void> {
    // SIGKILL alone does kill a stopped process on Linux; the SIGCONT first is cheap
    // insurance (and what src/devtools/processes.ts does too) so frozen nodes never linger.
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await this.exited;
  }

  async diagnostics(): Promise<string> {
    const log = await readFile(path.join(this.dir, 'redis.log'), 'utf8').catch(() => '');
    const status = this.spawnError ? `spawn error: ${this.spawnError.message}` :
      `exit code ${this.child.exitCode}, signal ${this.child.signalCode}`;
    return `${status}\noutput: ${this.outputTail.trim() || '(none)'}\nlog tail:\n${log.split('\n').slice(-15).join('\n')}`;
  }
}

interface NodeSettings {
  nodeTimeoutMs: number;
  requireFullCoverage: boolean;
  password: string | undefined;
  persistence: 'none' | 'aof';
}

function redisArgs(settings: NodeSettings, port: number, busPort: number, dir: string): string[] {
  const args = [
    '--port', String(port),
    '--cluster-enabled', 'yes',
    '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(settings.nodeTimeoutMs),
    '--cluster-port', String(busPort),
    '--cluster-require-full-coverage', settings.requireFullCoverage ? 'yes' : 'no',
    '--dir', dir,
    '--bind', HOST,
    '--protected-mode', 'no',
    '--save', '',
    // fsync always: SIGKILL must not cost the writes a test made sure had reached this node.
    ...(settings.persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    '--daemonize', 'no',
    '--logfile', path.join(dir, 'redis.log'),
    // Redis 7 defaults to diskless sync with a 5 s delay (to batch replicas); that alone
    // would make every replica's first sync take 5 s.
    '--repl-diskless-sync-delay', '0',
  ];
  if (settings.password !== undefined) args.push('--requirepass', settings.password, '--masterauth', settings.password);
  return args;
}

function createClient(host: string, port: number, password: string | undefined): Redis {
  const client = new Redis({
    host,
    port,
    password,
    connectTimeout: 1000,
    commandTimeout: 1500,      // a frozen node must not hang a test
    enableOfflineQueue: false, // fail fast while (re)connecting instead of queueing
    maxRetriesPerRequest: 0,
    // Keep reconnecting (a killed node may be restarted) but never slower than 200 ms.
    retryStrategy: (times) => Math.min(times * 20, 200),
  });
  // Killed nodes make the client emit connection errors; they are expected, not bugs.
  client.on('error', () => undefined);
  return client;
}

async function commandText(client: Redis, args: Array<string | number>): Promise<string> {
  const [name, ...rest] = args;
  const reply = await client.call(String(name), rest);
  if (typeof reply !== 'string') throw new Error(`${args.join(' ')}: expected a string reply, got ${JSON.stringify(reply)}`);
  return reply;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------
// Polling
// ---------------------------------------------------------------------------------------

interface PollSpec<S> {
  what: string;
  timeoutMs: number;
  sample(): Promise<S>;
  done(sample: S): boolean;
  describe(sample: S): string;
}

async function pollUntil<S>(spec: PollSpec<S>): Promise<void> {
  const deadline = Date.now() + spec.timeoutMs;
  for (;;) {
    let last: string;
    try {
      const sample = await spec.sample();
      if (spec.done(sample)) return;
      last = spec.describe(sample);
    } catch (err) {
      if (err instanceof StopPolling) throw err;
      last = `error: ${errorMessage(err)}`;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(`Timed out after ${spec.timeoutMs} ms waiting for ${spec.what}. Last observation:\n${last}`);
    }
    await sleep(Math.min(POLL_INTERVAL_MS, remaining));
  }
}

/** One node's reply to a command, or why it did not reply. */
interface Observation {
  node: TestNode;
  text?: string;
  error?: string;
}

type Answered = Observation & { text: string };

function allAnswered(obs: Observation[]): obs is Answered[] {
  return obs.every((o) => o.text !== undefined);
}

function findLine(text: string, id: string): ClusterNodeLine | undefined {
  return parseClusterNodes(text).find((line) => line.id === id);
}

function summarizeInfo(text: string): string {
  const info = parseInfo(text);
  const keys = ['cluster_state', 'cluster_slots_assigned', 'cluster_slots_ok', 'cluster_slots_pfail',
    'cluster_slots_fail', 'cluster_known_nodes', 'cluster_size', 'cluster_current_epoch'];
  return keys.map((key) => `${key.replace('cluster_', '')}=${info[key] ?? '?'}`).join(' ');
}

function summarizeNodes(text: string): string {
  return parseClusterNodes(text)
    .map((l) => `    ${l.id.slice(0, 8)} ${l.addr} ${l.flags.join(',')} ${l.masterId?.slice(0, 8) ?? '-'} ${l.linkState} ${l.slots.join(' ')}`)
    .join('\n');
}

// ---------------------------------------------------------------------------------------
// The cluster
// ---------------------------------------------------------------------------------------

class LocalCluster implements TestCluster {
  readonly nodes: TestNode[] = [];
  seeds: string[] = [];
  readonly nodeTimeoutMs: number;
  private readonly procs = new Map<TestNode, RedisProcess>();
  private readonly orphanProcs = new Set<RedisProcess>(); // ghosts and failed start attempts
  private readonly clients = new Map<string, Redis>();    // by addr
  private ghostCount = 0;
  private tornDown: Promise<void> | undefined;

  constructor(readonly rootDir: string, private readonly config: ClusterConfig) {
    this.nodeTimeoutMs = config.nodeTimeoutMs;
  }

  // ---- queries -------------------------------------------------------------------------

  masters(): TestNode[] { return this.nodes.filter((n) => n.role === 'master'); }
  replicas(): TestNode[] { return this.nodes.filter((n) => n.role === 'replica'); }
  spares(): TestNode[] { return this.nodes.filter((n) => n.role === 'spare'); }
  replicasOf(master: TestNode): TestNode[] { return this.replicas().filter((n) => n.masterId === master.id); }

  client(node: TestNode): Redis {
    // After teardown a new client would reconnect forever and keep the test process alive.
    if (this.tornDown) throw new Error(`client(${node.addr}): the cluster was torn down`);
    return this.clientFor(node.host, node.port);
  }

  async clusterNodes(node: TestNode): Promise<ClusterNodeLine[]> {
    return parseClusterNodes(await commandText(this.client(node), ['CLUSTER', 'NODES']));
  }

  async clusterInfo(node: TestNode): Promise<Record<string, string>> {
    return parseInfo(await commandText(this.client(node), ['CLUSTER', 'INFO']));
  }

  private clientFor(host: string, port: number): Redis {
    const addr = `${host}:${port}`;
    let client = this.clients.get(addr);
    if (!client) {
      client = createClient(host, port, this.config.password);
      this.clients.set(addr, client);
    }
    return client;
  }

  private label(node: TestNode): string {
    const sameRole = this.nodes.filter((n) => n.role === node.role);
    const state = !node.alive ? ' (dead)' : node.frozen ? ' (frozen)' : '';
    return `${node.role}#${sameRole.indexOf(node)} ${node.addr} ${node.id.slice(0, 8)}${state}`;
  }

  // ---- build ---------------------------------------------------------------------------

  async build(): Promise<void> {
    const { masters, replicasPerMaster, spares, slotPlan } = this.config;
    const roles: Array<TestNode['role']> = [
      ...Array<TestNode['role']>(masters).fill('master'),
      ...Array<TestNode['role']>(masters * replicasPerMaster).fill('replica'),
      ...Array<TestNode['role']>(spares).fill('spare'),
    ];
    // allSettled, not all: a failed start must not race teardown against starts still running.
    const started = await Promise.allSettled(roles.map((role, i) => this.launchNewNode(role, `node-${i}`)));
    for (const result of started) {
      if (result.status === 'fulfilled') this.nodes.push(result.value);
    }
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    const masterNodes = this.masters();
    masterNodes.forEach((master, i) => { master.slots = slotPlan[i] ?? []; });
    this.replicas().forEach((replica, i) => { replica.masterId = masterNodes[Math.floor(i / replicasPerMaster)]?.id; });
    const joined = this.nodes.filter((n) => n.role !== 'spare');
    this.seeds = joined.map((n) => n.addr);

    await this.assignEpochsAndSlots(joined);
    await this.meetAll(joined);
    await this.waitForMesh(joined);
    await Promise.all(this.replicas().map((r) => commandText(this.client(r), ['CLUSTER', 'REPLICATE', r.masterId ?? ''])));
    await this.waitForRoles(joined);
    await this.waitForReplicationLinks();
    if (this.config.expectOk) await this.waitUntilOk({ what: 'the new cluster to report cluster_state:ok' });
  }

  private async assignEpochsAndSlots(joined: TestNode[]): Promise<void> {
    // Distinct config epochs (as redis-cli does) avoid the epoch-collision dance among
    // slot-owning masters, which would otherwise bump epochs right after creation.
    await Promise.all(joined.map((node, i) => commandText(this.client(node), ['CLUSTER', 'SET-CONFIG-EPOCH', i + 1])));
    await Promise.all(this.masters().map((master) => {
      const bounds = master.slots.flat();
      return commandText(this.client(master), ['CLUSTER', 'ADDSLOTSRANGE', ...bounds]);
    }));
  }

  private async meetAll(joined: TestNode[]): Promise<void> {
    const [first, ...rest] = joined;
    if (!first) return;
    // The bus port is not port+10000 here, so it must be passed explicitly.
    await Promise.all(rest.map((node) =>
      commandText(this.client(node), ['CLUSTER', 'MEET', first.host, first.port, first.busPort])));
  }

  /** Every joined node knows exactly the joined nodes, with real ids (no handshakes). */
  private async waitForMesh(joined: TestNode[]): Promise<void> {
    const expected = new Set(joined.map((n) => n.id));
    await pollUntil({
      what: `all ${joined.length} nodes to know each other (CLUSTER NODES)`,
      timeoutMs: DEFAULT_WAIT_MS,
      sample: () => this.observe(['CLUSTER', 'NODES'], joined),
      done: (obs) => allAnswered(obs) && obs.every((o) => {
        const lines = parseClusterNodes(o.text);
        return lines.length === expected.size &&
          lines.every((l) => expected.has(l.id) && !l.flags.includes('handshake') && !l.flags.includes('noaddr'));
      }),
      describe: (obs) => this.describeObservations(obs, summarizeNodes),
    });
  }

  /** Every joined node sees every joined node with its intended role and no failure flag. */
  private async waitForRoles(joined: TestNode[]): Promise<void> {
    const roleOk = (line: ClusterNodeLine | undefined, node: TestNode): boolean => {
      if (!line || ['fail', 'fail?', 'handshake', 'noaddr'].some((f) => line.flags.includes(f))) return false;
      return node.role === 'master'
        ? line.flags.includes('master')
        : line.flags.includes('slave') && line.masterId === node.masterId;
    };
    await pollUntil({
      what: 'every node to show the intended master/replica roles',
      timeoutMs: DEFAULT_WAIT_MS,
      sample: () => this.observe(['CLUSTER', 'NODES'], joined),
      done: (obs) => allAnswered(obs) && obs.every((o) => joined.every((n) => roleOk(findLine(o.text, n.id), n))),
      describe: (obs) => this.describeObservations(obs, summarizeNodes),
    });
  }

  private async waitForReplicationLinks(): Promise<void> {
    const replicas = this.replicas();
    if (replicas.length === 0) return;
    await pollUntil({
      what: 'every replica to report master_link_status:up',
      timeoutMs: DEFAULT_WAIT_MS,
      sample: () => this.observe(['INFO', 'replication'], replicas),
      done: (obs) => allAnswered(obs) && obs.every((o) => parseInfo(o.text)['master_link_status'] === 'up'),
      describe: (obs) => this.describeObservations(obs, (text) => {
        const info = parseInfo(text);
        return `role=${info['role']} master_link_status=${info['master_link_status']}`;
      }),
    });
  }

  // ---- processes -----------------------------------------------------------------------

  /** Starts a node on fresh ports; retries with new ports if it dies during startup (port race). */
  private async launchNewNode(role: TestNode['role'], name: string): Promise<TestNode> {
    const dir = path.join(this.rootDir, name);
    let lastError: unknown;
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const [port, busPort] = [await freePort(), await freePort()];
      const proc = this.startProcess(port, busPort, dir);
      try {
        await this.waitAnswering(HOST, port, proc);
      } catch (err) {
        lastError = err;
        await proc.kill();
        continue;
      }
      const id = await commandText(this.clientFor(HOST, port), ['CLUSTER', 'MYID']);
      const node: TestNode = {
        host: HOST, port, busPort, addr: `${HOST}:${port}`, id, role, slots: [], dir, pid: proc.pid, alive: true, frozen: false,
      };
      this.orphanProcs.delete(proc);
      this.attach(node, proc);
      return node;
    }
    throw new Error(`could not start redis-server for ${name} after ${START_ATTEMPTS} attempts: ${errorMessage(lastError)}`);
  }

  /** Spawns redis-server; the process stays an orphan (killed on teardown) until attached. */
  private startProcess(port: number, busPort: number, dir: string): RedisProcess {
    if (this.tornDown) throw new Error('cluster already torn down');
    const proc = new RedisProcess(dir, redisArgs(this.config, port, busPort, dir));
    this.orphanProcs.add(proc);
    return proc;
  }

  private attach(node: TestNode, proc: RedisProcess): void {
    this.procs.set(node, proc);
    node.pid = proc.pid;
    node.alive = true;
    node.frozen = false;
    // Keep `alive` truthful even if redis-server dies on its own.
    void proc.waitExit().then(() => {
      if (this.procs.get(node) === proc) {
        node.alive = false;
        node.frozen = false;
      }
    });
  }

  private async waitAnswering(host: string, port: number, proc: RedisProcess): Promise<void> {
    const client = this.clientFor(host, port);
    await pollUntil({
      what: `redis-server on ${host}:${port} to answer PING`,
      timeoutMs: START_TIMEOUT_MS,
      sample: async () => {
        if (proc.hasExited) throw new StopPolling(`redis-server on ${host}:${port} exited during startup: ${await proc.diagnostics()}`);
        return client.ping();
      },
      done: (reply) => reply === 'PONG',
      describe: (reply) => String(reply),
    });
  }

  private procOf(node: TestNode): RedisProcess {
    const proc = this.procs.get(node);
    if (!proc) throw new Error(`node ${node.addr} does not belong to this cluster`);
    return proc;
  }

  async kill(node: TestNode): Promise<void> {
    await this.procOf(node).kill();
    node.alive = false;
    node.frozen = false;
  }

  freeze(node: TestNode): void {
    if (!node.alive) throw new Error(`cannot freeze ${this.label(node)}: it is not running`);
    this.procOf(node).signal('SIGSTOP');
    node.frozen = true;
  }

  thaw(node: TestNode): void {
    if (!node.alive) throw new Error(`cannot thaw ${this.label(node)}: it is not running`);
    this.procOf(node).signal('SIGCONT');
    node.frozen = false;
  }

  /** Kills the node first if it is still running. Same port, dir and nodes.conf, so same id (and its keys, with persistence aof). */
  async restart(node: TestNode): Promise<void> {
    const old = this.procOf(node);
    if (!old.hasExited) await this.kill(node);
    const proc = this.startProcess(node.port, node.busPort, node.dir);
    try {
      await this.waitAnswering(node.host, node.port, proc);
    } catch (err) {
      await proc.kill();
      throw err;
    }
    this.orphanProcs.delete(proc);
    this.attach(node, proc);
  }

  async killMasters(count: number): Promise<TestNode[]> {
    const victims = this.masters().slice(0, count);
    if (victims.length < count) throw new Error(`killMasters(${count}): the cluster only has ${victims.length} masters`);
    await Promise.all(victims.map((m) => this.kill(m)));
    return victims;
  }

  // ---- breaking things -----------------------------------------------------------------

  async delSlotsRange(node: TestNode, from: number, to: number): Promise<void> {
    await commandText(this.client(node), ['CLUSTER', 'DELSLOTSRANGE', from, to]);
  }

  async openSlot(slot: number, source: TestNode, target: TestNode): Promise<void> {
    // IMPORTING first, as a real resharding does, so there is no moment where the source
    // redirects (ASK) to a target that would refuse the slot.
    await commandText(this.client(target), ['CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id]);
    await commandText(this.client(source), ['CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id]);
  }

  async makeGhost(): Promise<{ id: string; addr: string }> {
    const introducer = this.nodes.find((n) => n.role !== 'spare' && n.alive && !n.frozen);
    if (!introducer) throw new Error('makeGhost: no live, non-frozen cluster node to introduce the ghost');
    const ghost = await this.launchGhost();
    await commandText(this.client(introducer), ['CLUSTER', 'MEET', ghost.host, ghost.port, ghost.busPort]);
    await this.waitUntilKnown(ghost.id, ghost.addr);
    await ghost.proc.kill();
    this.clients.get(ghost.addr)?.disconnect();
    this.clients.delete(ghost.addr);
    // FAIL is broadcast, so replicas get it too; waiting for every reachable node (a
    // superset of "every live master") means no caller can see a stale view afterwards.
    await this.waitUntilFlagged(ghost.id, 'fail', { what: `ghost ${ghost.addr} to be flagged fail everywhere` });
    return { id: ghost.id, addr: ghost.addr };
  }

  private async launchGhost(): Promise<{ id: string; host: string; port: number; busPort: number; addr: string; proc: RedisProcess }> {
    const dir = path.join(this.rootDir, `ghost-${this.ghostCount++}`);
    await mkdir(dir, { recursive: true });
    const [port, busPort] = [await freePort(), await freePort()];
    const proc = this.startProcess(port, busPort, dir); // stays an orphan: teardown reaps it
    await this.waitAnswering(HOST, port, proc);
    const id = await commandText(this.clientFor(HOST, port), ['CLUSTER', 'MYID']);
    return { id, host: HOST, port, busPort, addr: `${HOST}:${port}`, proc };
  }

  private async waitUntilKnown(id: string, addr: string): Promise<void> {
    await pollUntil({
      what: `every reachable node to list ${addr} (${id.slice(0, 8)})`,
      timeoutMs: DEFAULT_WAIT_MS,
      sample: () => this.observeReachable(['CLUSTER', 'NODES']),
      done: (obs) => obs.length > 0 && allAnswered(obs) && obs.every((o) => {
        const line = findLine(o.text, id);
        return line !== undefined && !line.flags.includes('handshake');
      }),
      describe: (obs) => this.describeObservations(obs, summarizeNodes),
    });
  }

  // ---- waiting -------------------------------------------------------------------------

  /**
   * Alive, non-frozen nodes that are part of the cluster. A spare that was never met
   * (it knows only itself) is skipped: it reports cluster_state:fail forever and is not
   * part of the cluster. Once a repair meets it, it is included.
   */
  private async observeReachable(command: Array<string | number>): Promise<Observation[]> {
    const reachable = this.nodes.filter((n) => n.alive && !n.frozen);
    const obs = await this.observe(command, reachable);
    return obs.filter((o) => !(o.node.role === 'spare' && o.text !== undefined && isLoner(command, o.text)));
  }

  private async observe(command: Array<string | number>, nodes: TestNode[]): Promise<Observation[]> {
    return Promise.all(nodes.map(async (node): Promise<Observation> => {
      try {
        return { node, text: await commandText(this.client(node), command) };
      } catch (err) {
        return { node, error: errorMessage(err) };
      }
    }));
  }

  private describeObservations(obs: Observation[], summarize: (text: string) => string): string {
    if (obs.length === 0) return '  (no reachable cluster node)';
    return obs.map((o) => `  ${this.label(o.node)}: ${o.text !== undefined ? summarize(o.text) : `ERROR ${o.error}`}`).join('\n');
  }

  async waitFor(pred: (infos: Map<string, string>) => boolean, opts: WaitOptions = {}): Promise<void> {
    await pollUntil({
      what: opts.what ?? 'a cluster condition',
      timeoutMs: opts.timeoutMs ?? DEFAULT_WAIT_MS,
      sample: () => this.observeReachable(['CLUSTER', 'INFO']),
      done: (obs) => allAnswered(obs) && pred(new Map(obs.map((o) => [o.node.addr, o.text]))),
      describe: (obs) => this.describeObservations(obs, summarizeInfo),
    });
  }

  async waitForNodes(pred: (views: Map<string, ClusterNodeLine[]>) => boolean, opts: WaitOptions = {}): Promise<void> {
    await pollUntil({
      what: opts.what ?? 'a cluster topology condition',
      timeoutMs: opts.timeoutMs ?? DEFAULT_WAIT_MS,
      sample: () => this.observeReachable(['CLUSTER', 'NODES']),
      done: (obs) => allAnswered(obs) && pred(new Map(obs.map((o) => [o.node.addr, parseClusterNodes(o.text)]))),
      describe: (obs) => this.describeObservations(obs, (text) => `\n${summarizeNodes(text)}`),
    });
  }

  waitUntilOk(opts: WaitOptions = {}): Promise<void> {
    return this.waitForState('ok', opts);
  }

  waitUntilFail(opts: WaitOptions = {}): Promise<void> {
    return this.waitForState('fail', opts);
  }

  private waitForState(state: 'ok' | 'fail', opts: WaitOptions): Promise<void> {
    // Require at least one node: "all of none" would make a fully dead cluster look ok.
    const pred = (infos: Map<string, string>): boolean =>
      infos.size > 0 && [...infos.values()].every((text) => parseInfo(text)['cluster_state'] === state);
    return this.waitFor(pred, { ...opts, what: opts.what ?? `every reachable node to report cluster_state:${state}` });
  }

  async waitUntilFlagged(target: TestNode | string, flag: 'fail' | 'fail?', opts: WaitOptions = {}): Promise<void> {
    const id = typeof target === 'string' ? target : target.id;
    const hasFlag = (text: string): boolean => findLine(text, id)?.flags.includes(flag) ?? false;
    await pollUntil({
      what: opts.what ?? `every reachable node to flag ${id.slice(0, 8)} as '${flag}'`,
      timeoutMs: opts.timeoutMs ?? DEFAULT_WAIT_MS,
      sample: async () => (await this.observeReachable(['CLUSTER', 'NODES'])).filter((o) => o.node.id !== id),
      done: (obs) => obs.length > 0 && allAnswered(obs) && obs.every((o) => hasFlag(o.text)),
      describe: (obs) => this.describeObservations(obs, (text) => findLine(text, id)?.raw ?? `does not know ${id}`),
    });
  }

  // ---- teardown ------------------------------------------------------------------------

  teardown(): Promise<void> {
    this.tornDown ??= this.doTeardown();
    return this.tornDown;
  }

  private async doTeardown(): Promise<void> {
    // Clients first, so they do not spin reconnecting to processes being killed.
    for (const client of this.clients.values()) client.disconnect();
    this.clients.clear();
    await Promise.all([...this.procs.values(), ...this.orphanProcs].map((p) => p.kill()));
    for (const node of this.nodes) {
      node.alive = false;
      node.frozen = false;
    }
    await rm(this.rootDir, { recursive: true, force: true });
  }
}

/** Whether a node's reply shows it knows no other node (a spare that was never met). */
function isLoner(command: Array<string | number>, text: string): boolean {
  const sub = String(command[1] ?? '').toUpperCase();
  if (sub === 'INFO') return parseInfo(text)['cluster_known_nodes'] === '1';
  if (sub === 'NODES') return parseClusterNodes(text).length === 1;
  return false;
}
