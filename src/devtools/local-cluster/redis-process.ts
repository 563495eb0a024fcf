// One redis-server process in cluster mode, and a client to it that never hangs a test.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { trackProcess } from '../processes';
import { HOST } from './ports';

/** Thrown inside a poll to abort it at once (e.g. the process being waited on died). */
export class StopPolling extends Error {}

export class RedisProcess {
  readonly child: ChildProcess;
  private outputTail = '';
  private spawnError: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(
    private readonly dir: string,
    args: string[],
  ) {
    this.child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackProcess(this.child);
    // 'exit' may never fire when spawn itself fails, so 'error' also counts as exited.
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', (err) => {
        this.spawnError = err;
        resolve();
      });
    });
    // Config errors go to stdout/stderr before the log file is opened: keep a tail.
    const keep = (chunk: Buffer): void => {
      this.outputTail = (this.outputTail + chunk.toString()).slice(-2000);
    };
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
    const status = this.spawnError
      ? `spawn error: ${this.spawnError.message}`
      : `exit code ${this.child.exitCode}, signal ${this.child.signalCode}`;
    return `${status}\noutput: ${this.outputTail.trim() || '(none)'}\nlog tail:\n${log.split('\n').slice(-15).join('\n')}`;
  }
}

export interface NodeSettings {
  nodeTimeoutMs: number;
  requireFullCoverage: boolean;
  password: string | undefined;
  persistence: 'none' | 'aof';
}

export function redisArgs(settings: NodeSettings, port: number, busPort: number, dir: string, host: string = HOST): string[] {
  const args = [
    '--port',
    String(port),
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    String(settings.nodeTimeoutMs),
    '--cluster-port',
    String(busPort),
    '--cluster-require-full-coverage',
    settings.requireFullCoverage ? 'yes' : 'no',
    '--dir',
    dir,
    '--bind',
    host,
    // Its cluster bus connects out from this address too: on loopback the kernel would pick
    // 127.0.0.1, and peers learn a node's address from where its packets come from.
    ...(host === HOST ? [] : ['--bind-source-addr', host]),
    '--protected-mode',
    'no',
    '--save',
    '',
    // fsync always: SIGKILL must not cost the writes a test made sure had reached this node.
    ...(settings.persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    '--daemonize',
    'no',
    '--logfile',
    path.join(dir, 'redis.log'),
    // Redis 7 defaults to diskless sync with a 5 s delay (to batch replicas); that alone
    // would make every replica's first sync take 5 s.
    '--repl-diskless-sync-delay',
    '0',
  ];
  if (settings.password !== undefined) args.push('--requirepass', settings.password, '--masterauth', settings.password);
  return args;
}

export function createClient(host: string, port: number, password: string | undefined): Redis {
  const client = new Redis({
    host,
    port,
    password,
    connectTimeout: 1000,
    commandTimeout: 1500, // a frozen node must not hang a test
    enableOfflineQueue: false, // fail fast while (re)connecting instead of queueing
    maxRetriesPerRequest: 0,
    // Keep reconnecting (a killed node may be restarted) but never slower than 200 ms.
    retryStrategy: (times) => Math.min(times * 20, 200),
  });
  // Killed nodes make the client emit connection errors; they are expected, not bugs.
  client.on('error', () => undefined);
  return client;
}

export async function commandText(client: Redis, args: Array<string | number>): Promise<string> {
  const [name, ...rest] = args;
  const reply = await client.call(String(name), rest);
  if (typeof reply !== 'string') throw new Error(`${args.join(' ')}: expected a string reply, got ${JSON.stringify(reply)}`);
  return reply;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
