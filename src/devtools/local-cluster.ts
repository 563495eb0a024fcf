// Spawns REAL redis-server processes in cluster mode on loopback, builds the
// cluster with plain commands (no redis-cli), and breaks it for real (SIGKILL, SIGSTOP,
// slot surgery, ghost nodes). This file is the cluster itself (bootstrap and faults); its
// processes, ports, options and waits live in ./local-cluster/.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { errorMessage } from '../errors';
import { parseClusterNodes, parseInfo } from './local-cluster/node-lines';
import { normalizeOptions, type ClusterConfig } from './local-cluster/options';
import {
  allAnswered,
  DEFAULT_WAIT_MS,
  findLine,
  pollUntil,
  summarizeInfo,
  summarizeNodes,
  type Observation,
} from './local-cluster/polling';
import { freePort, HOST } from './local-cluster/ports';
import { commandText, createClient, RedisProcess, redisArgs, StopPolling } from './local-cluster/redis-process';
import type { ClusterNodeLine, SpawnClusterOptions, TestCluster, TestNode, WaitOptions } from './local-cluster/types';

export type { ClusterNodeLine, SpawnClusterOptions, TestCluster, TestNode, WaitOptions } from './local-cluster/types';
export { eventually } from './local-cluster/polling';
export { freePort } from './local-cluster/ports';
export { parseClusterNodes, parseInfo } from './local-cluster/node-lines';
export { planSlots, TOTAL_SLOTS } from './local-cluster/options';

const START_TIMEOUT_MS = 10_000;
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

// ---------------------------------------------------------------------------------------
// The cluster
// ---------------------------------------------------------------------------------------

class LocalCluster implements TestCluster {
  readonly nodes: TestNode[] = [];
  seeds: string[] = [];
  readonly nodeTimeoutMs: number;
  private readonly procs = new Map<TestNode, RedisProcess>();
  private readonly orphanProcs = new Set<RedisProcess>(); // ghosts and failed start attempts
  private readonly clients = new Map<string, Redis>(); // by addr
  private ghostCount = 0;
  private tornDown: Promise<void> | undefined;

  constructor(
    readonly rootDir: string,
    private readonly config: ClusterConfig,
  ) {
    this.nodeTimeoutMs = config.nodeTimeoutMs;
  }

  // ---- queries -------------------------------------------------------------------------

  masters(): TestNode[] {
    return this.nodes.filter((n) => n.role === 'master');
  }
  replicas(): TestNode[] {
    return this.nodes.filter((n) => n.role === 'replica');
  }
  spares(): TestNode[] {
    return this.nodes.filter((n) => n.role === 'spare');
  }
  replicasOf(master: TestNode): TestNode[] {
    return this.replicas().filter((n) => n.masterId === master.id);
  }

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
    masterNodes.forEach((master, i) => {
      master.slots = slotPlan[i] ?? [];
    });
    this.replicas().forEach((replica, i) => {
      replica.masterId = masterNodes[Math.floor(i / replicasPerMaster)]?.id;
    });
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
    await Promise.all(
      this.masters().map((master) => {
        const bounds = master.slots.flat();
        return commandText(this.client(master), ['CLUSTER', 'ADDSLOTSRANGE', ...bounds]);
      }),
    );
  }

  private async meetAll(joined: TestNode[]): Promise<void> {
    const [first, ...rest] = joined;
    if (!first) return;
    // The bus port is not port+10000 here, so it must be passed explicitly.
    await Promise.all(rest.map((node) => commandText(this.client(node), ['CLUSTER', 'MEET', first.host, first.port, first.busPort])));
  }

  /** Every joined node knows exactly the joined nodes, with real ids (no handshakes). */
  private async waitForMesh(joined: TestNode[]): Promise<void> {
    const expected = new Set(joined.map((n) => n.id));
    await pollUntil({
      what: `all ${joined.length} nodes to know each other (CLUSTER NODES)`,
      timeoutMs: DEFAULT_WAIT_MS,
      sample: () => this.observe(['CLUSTER', 'NODES'], joined),
      done: (obs) =>
        allAnswered(obs) &&
        obs.every((o) => {
          const lines = parseClusterNodes(o.text);
          return (
            lines.length === expected.size &&
            lines.every((l) => expected.has(l.id) && !l.flags.includes('handshake') && !l.flags.includes('noaddr'))
          );
        }),
      describe: (obs) => this.describeObservations(obs, summarizeNodes),
    });
  }

  /** Every joined node sees every joined node with its intended role and no failure flag. */
  private async waitForRoles(joined: TestNode[]): Promise<void> {
    const roleOk = (line: ClusterNodeLine | undefined, node: TestNode): boolean => {
      if (!line || ['fail', 'fail?', 'handshake', 'noaddr'].some((f) => line.flags.includes(f))) return false;
      return node.role === 'master' ? line.flags.includes('master') : line.flags.includes('slave') && line.masterId === node.masterId;
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
      describe: (obs) =>
        this.describeObservations(obs, (text) => {
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
        host: HOST,
        port,
        busPort,
        addr: `${HOST}:${port}`,
        id,
        role,
        slots: [],
        dir,
        pid: proc.pid,
        alive: true,
        frozen: false,
      };
      this.orphanProcs.delete(proc);
      this.attach(node, proc);
      return node;
    }
    throw new Error(`could not start redis-server for ${name} after ${START_ATTEMPTS} attempts: ${errorMessage(lastError)}`);
  }

  /** Spawns redis-server; the process stays an orphan (killed on teardown) until attached. */
  private startProcess(port: number, busPort: number, dir: string, host?: string): RedisProcess {
    if (this.tornDown) throw new Error('cluster already torn down');
    const proc = new RedisProcess(dir, redisArgs(this.config, port, busPort, dir, host));
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
  async restart(node: TestNode, options: { host?: string } = {}): Promise<void> {
    const old = this.procOf(node);
    if (!old.hasExited) await this.kill(node);
    if (options.host && options.host !== node.host) {
      // A pod rescheduled with a new IP: same data dir and nodes.conf (which keeps the old
      // addresses, its own included), another loopback address (all of 127.0.0.0/8 is local).
      node.host = options.host;
      node.addr = `${options.host}:${node.port}`;
    }
    const proc = this.startProcess(node.port, node.busPort, node.dir, node.host);
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
      done: (obs) =>
        obs.length > 0 &&
        allAnswered(obs) &&
        obs.every((o) => {
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
    return Promise.all(
      nodes.map(async (node): Promise<Observation> => {
        try {
          return { node, text: await commandText(this.client(node), command) };
        } catch (err) {
          return { node, error: errorMessage(err) };
        }
      }),
    );
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
