import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './local-cluster';
import { trackProcess } from './processes';

export interface ThrowawayRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** kill -9, then start again on the same port: it comes back empty unless its args persist. */
  restart(): Promise<void>;
}

/**
 * A plain (non-cluster) redis-server on a free loopback port, in a temp dir, keeping nothing on
 * disk: the queue Redis for `demo` when none answers at REDIS_URL.
 */
export async function startThrowawayRedis(options: { args?: string[] } = {}): Promise<ThrowawayRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redis-medic-queue-'));
  const port = await freePort();
  // Extra args come last, so they override the no-persistence defaults.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(options.args ?? [])];
  let child: ChildProcess;
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
  };
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    trackProcess(child);
    const spawnError = new Promise<never>((_, reject) =>
      child.once('error', (err) => reject(new Error(`cannot start redis-server: ${err.message}`))),
    );
    await Promise.race([waitForPing(port, 5000), spawnError]);
  };
  const stop = async (): Promise<void> => {
    await kill();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await launch();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    async restart() {
      await kill();
      await launch();
    },
  };
}

/** True when something answers PING at the URL within the timeout. */
export async function redisAnswers(url: string, timeoutMs = 500): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await redisAnswers(`redis://127.0.0.1:${port}`, 200)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}
