// Test helper: runs `redis-medic worker` as a real child process (the same bin/redis-medic a
// deployment runs), with its configuration in a temp dir and env pointing at the test queue
// Redis. Its JSON log lines are parsed as they arrive, so tests wait on what it says.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { trackProcess } from './processes';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Every JSON log line so far (stdout). */
  lines: LogLine[];
  /** Non-JSON output (stderr and anything unparsable), for failure messages. */
  rawOutput(): string;
  waitForLog(predicate: (line: LogLine) => boolean, opts?: { timeoutMs?: number; what?: string }): Promise<LogLine>;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL if still running; always resolves. */
  kill(): Promise<void>;
}

export interface StartWorkerOptions {
  /** The configuration file's content (written as JSON to a temp dir). */
  config: Record<string, unknown>;
  redisUrl: string;
  queuePrefix: string;
  args?: string[];
  env?: Record<string, string>;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO_ROOT, 'bin', 'redis-medic');
const DEFAULT_WAIT_MS = 20_000;

export async function startWorkerProcess(options: StartWorkerOptions): Promise<WorkerProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redis-medic-worker-'));
  const configFile = path.join(dir, 'config.json');
  await writeFile(configFile, JSON.stringify(options.config));
  const child = spawn(process.execPath, [BIN, 'worker', ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      REDIS_MEDIC_CONFIG: configFile,
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: options.queuePrefix,
      LOG_LEVEL: 'info',
      ...options.env,
    },
  });
  trackProcess(child);
  const lines: LogLine[] = [];
  let raw = '';
  const waiters: Array<{ predicate: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  const onLine = (text: string): void => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      raw = `${raw + text}\n`.slice(-4000);
      return;
    }
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    parts.filter((p) => p.trim()).forEach(onLine);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    raw = (raw + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      void rm(dir, { recursive: true, force: true });
      resolve({ code, signal });
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });

  return {
    child,
    pid: child.pid ?? -1,
    lines,
    rawOutput: () => raw,
    waitForLog(predicate, opts = {}) {
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_MS;
      return new Promise<LogLine>((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          const tail = lines
            .slice(-8)
            .map((l) => `    ${l.msg}`)
            .join('\n');
          reject(
            new Error(
              `worker ${child.pid}: no log line for ${opts.what ?? 'the awaited condition'} within ${timeoutMs} ms` +
                `${done ? ' (the process has exited)' : ''}\n  last lines:\n${tail}\n  other output: ${raw.trim() || '(none)'}`,
            ),
          );
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    exited,
    signal(sig) {
      if (!done) child.kill(sig);
    },
    async kill() {
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Resolves with the exit, or throws naming the process if it does not exit in time. */
export async function waitForExit(
  worker: WorkerProcess,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `worker ${worker.pid} did not exit within ${timeoutMs} ms; last lines:\n${worker.lines
              .slice(-8)
              .map((l) => `    ${l.msg}`)
              .join('\n')}\n  other output: ${worker.rawOutput().trim() || '(none)'}`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([worker.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
