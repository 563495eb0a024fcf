// A fake Redis node (a small RESP server) for what a real redis-server cannot be made to do:
// list 800 nodes, answer CLUSTER NODES with 50 MB, or with 20,000 lines. Only where a real node
// cannot misbehave that way (test rules). It records every connection and command, so a test
// can prove that nothing was sent to it, not even AUTH.
import net from 'node:net';
import RedisParser from 'redis-parser';

export interface FakeNodeOptions {
  host?: string;
  port?: number;
  /** The CLUSTER NODES reply: a string, or a size in bytes to stream (filler lines) without holding it. */
  clusterNodes?: string | { streamBytes: number };
  clusterInfo?: string;
  /** What CONFIG GET finds (default: nothing, an empty list). */
  config?: Record<string, string>;
  /** CONFIG GET takes one parameter, as before Redis 7: more is an arity error. */
  configGetOneParameter?: boolean;
  /** Answer each command this long after it arrived (a slow, loaded node). */
  replyDelayMs?: number;
  /** Commands answered as unknown (renamed away by rename-command). */
  unknownCommands?: string[];
  /** CONFIG GET's reply as raw RESP (values a real node would not send). */
  rawConfigReply?: string;
  /** This long after each CLUSTER NODES answer, send one more reply, which nobody asked for. */
  strayReplyAfterMs?: number;
  /** What that is, as raw RESP (default +STRAY). */
  strayReply?: string;
  /** CLUSTER NODES answers this error instead. */
  clusterNodesError?: string;
  /** Keep writing after the client hung up its side (a real Redis closes at once). */
  halfOpen?: boolean;
  /** Refuse every AUTH (WRONGPASS), and every other command but PING with NOAUTH, as Redis does. */
  refuseAuth?: boolean;
}

export interface FakeNode {
  host: string;
  port: number;
  addr: string;
  /** Connections accepted so far. */
  connections: number;
  /** Every command received, upper-cased name first (AUTH arguments included: it is a trap). */
  commands: string[][];
  /** Bytes of CLUSTER NODES written before the client hung up (streamed replies). */
  bytesStreamed: number;
  close(): Promise<void>;
}

const HEALTHY_INFO =
  'cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\ncluster_size:1\r\ncluster_current_epoch:1\r\ncluster_my_epoch:1\r\n';

export async function startFakeNode(options: FakeNodeOptions = {}): Promise<FakeNode> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<net.Socket>();
  const node: FakeNode = { host, port: 0, addr: '', connections: 0, commands: [], bytesStreamed: 0, close };
  const server = net.createServer({ allowHalfOpen: options.halfOpen === true }, (socket) => {
    node.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const parser = new RedisParser({
      returnBuffers: false,
      returnReply: (command: unknown) => {
        const args = (command as unknown[]).map(String);
        args[0] = args[0]!.toUpperCase();
        node.commands.push(args);
        if (options.replyDelayMs) setTimeout(() => !socket.destroyed && answer(socket, args), options.replyDelayMs);
        else answer(socket, args);
      },
      returnError: () => socket.destroy(),
      returnFatalError: () => socket.destroy(),
    });
    socket.on('data', (data) => parser.execute(data));
  });

  function answer(socket: net.Socket, [name, sub = '', ...rest]: string[]): void {
    const upperSub = sub.toUpperCase();
    if (options.refuseAuth && name === 'AUTH')
      return void socket.write('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    if (options.refuseAuth && name !== 'PING') return void socket.write('-NOAUTH Authentication required.\r\n');
    if (options.unknownCommands?.includes(name!)) return void socket.write(`-ERR unknown command '${name}'\r\n`);
    if (name === 'CONFIG' && upperSub === 'GET' && options.rawConfigReply !== undefined) return void socket.write(options.rawConfigReply);
    if (name === 'CLUSTER' && upperSub === 'NODES') {
      if (options.strayReplyAfterMs !== undefined)
        setTimeout(() => !socket.destroyed && socket.write(options.strayReply ?? '+STRAY\r\n'), options.strayReplyAfterMs).unref();
      if (options.clusterNodesError !== undefined) return void socket.write(`-${options.clusterNodesError}\r\n`);
      const reply = options.clusterNodes ?? '';
      if (typeof reply === 'string') socket.write(bulk(reply));
      else streamFiller(socket, reply.streamBytes);
      return;
    }
    if (name === 'CLUSTER' && upperSub === 'INFO') return void socket.write(bulk(options.clusterInfo ?? HEALTHY_INFO));
    if (name === 'AUTH' || name === 'CLIENT' || name === 'PING') return void socket.write(name === 'PING' ? '+PONG\r\n' : '+OK\r\n');
    if (name === 'CONFIG' && upperSub === 'GET' && options.configGetOneParameter && rest.length > 1)
      return void socket.write("-ERR Unknown subcommand or wrong number of arguments for 'get'. Try CONFIG HELP.\r\n");
    if (name === 'CONFIG') {
      const found = upperSub === 'GET' ? rest.filter((p) => options.config?.[p] !== undefined) : [];
      return void socket.write(`*${found.length * 2}\r\n${found.map((p) => bulk(p) + bulk(options.config![p]!)).join('')}`);
    }
    if (name === 'INFO') return void socket.write(bulk('# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n'));
    if (name === 'DBSIZE') return void socket.write(':0\r\n');
    socket.write(`-ERR unknown command '${name}'\r\n`);
  }

  // A bulk string of `size` bytes written chunk by chunk as the client reads it: the fake never
  // holds it, and stops as soon as the client hangs up (what a byte cap should make it do).
  function streamFiller(socket: net.Socket, size: number): void {
    const line = Buffer.from(`${'0'.repeat(40)} 10.0.0.1:6379@16379 master - 0 0 1 connected 0-100\n`);
    const chunk = Buffer.concat(Array.from({ length: Math.ceil(65536 / line.length) }, () => line));
    let left = size;
    socket.write(`$${size}\r\n`);
    const pump = (): void => {
      while (left > 0 && !socket.destroyed) {
        const part = chunk.subarray(0, Math.min(chunk.length, left));
        left -= part.length;
        node.bytesStreamed += part.length;
        if (!socket.write(part)) return void socket.once('drain', pump);
      }
      if (left === 0 && !socket.destroyed) socket.write('\r\n');
    };
    pump();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  node.port = (server.address() as net.AddressInfo).port;
  node.addr = `${host}:${node.port}`;

  async function close(): Promise<void> {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return node;
}

function bulk(text: string): string {
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
}

/** A CLUSTER NODES line. */
export function nodeLine(id: string, addr: string, flags: string, slots = '', epoch = 1): string {
  const bus = Number(addr.slice(addr.lastIndexOf(':') + 1)) + 10000;
  return `${id} ${addr}@${bus > 65535 ? 1 : bus} ${flags} - 0 0 ${epoch} connected${slots ? ` ${slots}` : ''}`;
}

/** A 40-hex node id made from a number. */
export function nodeId(n: number): string {
  return n.toString(16).padStart(40, '0');
}
