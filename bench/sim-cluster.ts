// A simulated Redis Cluster for the scale bench: ONE process with N RESP listeners (plus N
// cluster-bus listeners, so bus-port checks find something), each answering like a healthy
// Redis 7.0 node: its own CLUSTER NODES view (myself line, the others in its own order, ping/pong
// times of its own), CLUSTER INFO, INFO, CONFIG GET, DBSIZE. Half the nodes are masters with an
// even share of the 16384 slots, half their replicas. Real redis-servers at 1000 nodes do not fit
// on this machine; this lets ours and `redis-cli --cluster check` read the same 1000-node cluster.
//
// Run as a child process (startSimulatedCluster) so that its work and memory are not counted as
// ours: it prints one JSON line with the ports, then serves until killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import RedisParser from 'redis-parser';
import { trackProcess } from '../src/devtools/processes';

const HOST = '127.0.0.1';
const SLOTS = 16384;

export interface SimulatedCluster {
  /** Every node's `host:port`; the first is a master. */
  addrs: string[];
  pid: number;
  stop(): Promise<void>;
}

/** Spawn the simulator with `n` nodes and wait until every listener is up. */
export async function startSimulatedCluster(n: number): Promise<SimulatedCluster> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  trackProcess(child);
  const lines = readline.createInterface({ input: child.stdout! });
  const ports = await new Promise<number[]>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`simulated cluster exited (${code}) before it listened`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { ports: number[] }).ports));
  });
  return {
    addrs: ports.map((port) => `${HOST}:${port}`),
    pid: child.pid!,
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

// ---- the simulator itself ----------------------------------------------------------------

interface SimNode {
  index: number;
  id: string;
  port: number;
  busPort: number;
  master: SimNode | null;
  slots: [number, number] | null;
  epoch: number;
}

async function serve(n: number): Promise<void> {
  const [ports, busPorts] = await Promise.all([listenMany(n), listenMany(n)]);
  const masters = Math.ceil(n / 2);
  const nodes: SimNode[] = [];
  for (let i = 0; i < n; i++) {
    const isMaster = i < masters;
    nodes.push({
      index: i,
      id: createHash('sha1').update(`sim-node-${i}`).digest('hex'),
      port: ports[i]!.port,
      busPort: busPorts[i]!.port,
      master: isMaster ? null : nodes[i - masters]!,
      slots: isMaster ? [Math.floor((i * SLOTS) / masters), Math.floor(((i + 1) * SLOTS) / masters) - 1] : null,
      epoch: isMaster ? i + 1 : i - masters + 1,
    });
  }
  const now = Date.now();
  const replies = nodes.map((node) => nodeReplies(node, nodes, masters, now));
  ports.forEach((server, i) => {
    server.on('connection', (socket) => answer(socket, replies[i]!));
  });
  // The bus: accept and hold (a real bus speaks its own binary protocol; we only probe with connects).
  for (const server of busPorts) server.on('connection', (socket) => socket.on('error', () => undefined));
  process.stdout.write(`${JSON.stringify({ ports: ports.map((s) => s.port) })}\n`);
}

async function listenMany(n: number): Promise<Array<net.Server & { port: number }>> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server & { port: number }>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, HOST, () => resolve(Object.assign(server, { port: (server.address() as net.AddressInfo).port })));
        }),
    ),
  );
}

type Replies = Map<string, Buffer>;

/** Every answer of one node, encoded once: it never changes. */
function nodeReplies(me: SimNode, nodes: SimNode[], masters: number, now: number): Replies {
  const lines: string[] = [];
  // Each node lists the others in an order of its own (Redis walks a dict), starting after itself.
  for (let k = 0; k < nodes.length; k++) {
    const node = nodes[(me.index + k) % nodes.length]!;
    const self = node === me;
    const flags = `${self ? 'myself,' : ''}${node.master ? 'slave' : 'master'}`;
    // Each viewer got its last PONG from each peer at its own moment.
    const pong = self ? Math.floor(now / 1000) * 1000 : now - ((me.index * 7919 + node.index * 104729) % 1000);
    const slots = node.slots ? ` ${node.slots[0]}-${node.slots[1]}` : '';
    lines.push(
      `${node.id} ${HOST}:${node.port}@${node.busPort} ${flags} ${node.master?.id ?? '-'} 0 ${pong} ${node.epoch} connected${slots}`,
    );
  }
  const clusterInfo = [
    'cluster_state:ok',
    `cluster_slots_assigned:${SLOTS}`,
    `cluster_slots_ok:${SLOTS}`,
    'cluster_slots_pfail:0',
    'cluster_slots_fail:0',
    `cluster_known_nodes:${nodes.length}`,
    `cluster_size:${masters}`,
    `cluster_current_epoch:${masters}`,
    `cluster_my_epoch:${me.epoch}`,
    'cluster_stats_messages_ping_sent:1000',
    'cluster_stats_messages_pong_sent:1000',
    'cluster_stats_messages_sent:2000',
    'cluster_stats_messages_ping_received:1000',
    'cluster_stats_messages_pong_received:1000',
    'cluster_stats_messages_received:2000',
    'total_cluster_links_buffer_limit_exceeded:0',
    '',
  ].join('\r\n');
  const replicas = nodes.filter((r) => r.master === me);
  const replication = me.master
    ? [
        '# Replication',
        'role:slave',
        `master_host:${HOST}`,
        `master_port:${me.master.port}`,
        'master_link_status:up',
        'master_last_io_seconds_ago:1',
        'master_sync_in_progress:0',
        'slave_read_repl_offset:1000',
        'slave_repl_offset:1000',
        'slave_priority:100',
        'slave_read_only:1',
        'replica_announced:1',
        'connected_slaves:0',
        'master_failover_state:no-failover',
        'master_repl_offset:1000',
        '',
      ]
    : [
        '# Replication',
        'role:master',
        `connected_slaves:${replicas.length}`,
        ...replicas.map((r, i) => `slave${i}:ip=${HOST},port=${r.port},state=online,offset=1000,lag=0`),
        'master_failover_state:no-failover',
        'master_repl_offset:1000',
        '',
      ];
  const info = [
    '# Server',
    'redis_version:7.0.15',
    'redis_mode:cluster',
    `tcp_port:${me.port}`,
    '',
    ...replication,
    '# Cluster',
    'cluster_enabled:1',
    '',
    '# Keyspace',
    '',
  ].join('\r\n');
  const config: Record<string, string> = { 'cluster-require-full-coverage': 'yes', 'cluster-node-timeout': '15000' };
  return new Map<string, Buffer>([
    ['cluster nodes', bulk(`${lines.join('\n')}\n`)],
    ['cluster info', bulk(clusterInfo)],
    ['cluster myid', bulk(me.id)],
    ['info', bulk(info)],
    ['info replication', bulk(replication.join('\r\n'))],
    ['info cluster', bulk('# Cluster\r\ncluster_enabled:1\r\n')],
    ['dbsize', Buffer.from(':0\r\n')],
    ...Object.entries(config).map(([k, v]): [string, Buffer] => [`config get ${k}`, array([k, v])]),
  ]);
}

const OK = Buffer.from('+OK\r\n');
const seenUnknown = new Set<string>();

function answer(socket: net.Socket, replies: Replies): void {
  socket.on('error', () => undefined);
  const parser = new RedisParser({
    returnReply: (args: unknown) => {
      const words = (Array.isArray(args) ? args : String(args).split(' ')).map(String);
      const name = words[0]?.toLowerCase() ?? '';
      const key = words.map((w) => w.toLowerCase()).join(' ');
      const reply = replies.get(key) ?? replies.get(name === 'info' ? 'info' : '');
      if (reply) socket.write(reply);
      else if (name === 'auth' || name === 'client' || name === 'select' || name === 'readonly') socket.write(OK);
      else if (name === 'ping') socket.write('+PONG\r\n');
      else if (name === 'time') socket.write(timeReply());
      else if (key.startsWith('config get')) socket.write(configReply(words.slice(2), replies));
      else {
        if (!seenUnknown.has(key)) process.stderr.write(`simulated cluster: unknown command ${key}\n`);
        seenUnknown.add(key);
        socket.write(`-ERR unknown command '${words[0] ?? ''}'\r\n`);
      }
    },
    returnError: () => socket.destroy(),
  });
  socket.on('data', (chunk) => parser.execute(chunk));
}

/** CONFIG GET of one parameter or several (Redis >= 7): the pairs of those it knows, in the order asked. */
function configReply(parameters: string[], replies: Replies): Buffer {
  const pairs = parameters.map((p) => replies.get(`config get ${p.toLowerCase()}`)).filter((r): r is Buffer => r !== undefined);
  // Each known one is stored as the two-element reply `*2\r\n$..name..$..value..`: its elements are reused.
  return Buffer.concat([Buffer.from(`*${pairs.length * 2}\r\n`), ...pairs.map((r) => r.subarray(r.indexOf('\n') + 1))]);
}

/** TIME as a node answers it: seconds and microseconds, now. */
function timeReply(): Buffer {
  const micros = BigInt(Date.now()) * 1000n;
  return array([String(micros / 1_000_000n), String(micros % 1_000_000n)]);
}

function bulk(text: string): Buffer {
  return Buffer.concat([Buffer.from(`$${Buffer.byteLength(text)}\r\n`), Buffer.from(text), Buffer.from('\r\n')]);
}

function array(items: string[]): Buffer {
  return Buffer.concat([Buffer.from(`*${items.length}\r\n`), ...items.map(bulk)]);
}

if (require.main === module) {
  serve(Number(process.argv[2] ?? 6)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

export const SIMULATOR_PATH = path.resolve(__filename);
