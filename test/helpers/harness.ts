// The mocha lifecycle most integration tests share, declared once per describe block: a real
// cluster, the fake Slack Web API, a fresh queue-Redis prefix for every test, and the things a
// test opened (monitors, apps, services, connections), closed after it. A test file keeps only
// what it tests.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { SpawnClusterOptions, TestCluster } from '../../src/devtools/local-cluster';
import { createLogger, type Logger } from '../../src/logging/logger';
import { useCluster } from './cluster';
import { type FakeSlack, startFakeSlack } from './fake-slack';
import { deleteQueueKeys, QUEUE_REDIS_URL } from './queue-redis';

export interface UseHarnessOptions {
  /** A real cluster for the block: spawned before its first test, torn down after its last. */
  cluster?: SpawnClusterOptions;
  /** After each test, restart the nodes it killed and wait for cluster_state:ok: every test starts healthy. */
  healCluster?: boolean;
  /** One fake Slack Web API for the block; what it recorded (and its faults) is reset before each test. */
  fakeSlack?: boolean;
}

/** Anything a test opens: closed (or stopped, or disconnected) after the test, the last opened first. */
export type Closable = { close(): unknown } | { stop(): unknown } | { disconnect(): unknown };

export interface TestHarness {
  /** The block's cluster (with `cluster` in the options). */
  cluster(): TestCluster;
  /** The block's fake Slack (with `fakeSlack` in the options). */
  readonly fake: FakeSlack;
  /** This test's queue-Redis prefix; every key under it is deleted after the test. */
  readonly prefix: string;
  /** Closes `thing` after the test; returns it. */
  track<T extends Closable>(thing: T): T;
  /** Runs `cleanup` after the test (after the ones deferred later). */
  defer(cleanup: () => unknown): void;
}

export function useHarness(options: UseHarnessOptions = {}): TestHarness {
  const cluster = options.cluster ? useCluster(options.cluster) : undefined;
  let fake: FakeSlack | undefined;
  let prefix: string | undefined;
  const cleanups: Array<() => unknown> = [];

  if (options.fakeSlack) {
    before(async () => {
      fake = await startFakeSlack();
    });
    after(async () => {
      await fake?.close();
      fake = undefined;
    });
  }
  beforeEach(() => {
    prefix = testPrefix();
    fake?.reset();
  });
  afterEach(async function () {
    this.timeout(30_000);
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    if (prefix) await deleteQueueKeys(prefix);
    if (cluster && options.healCluster) {
      const c = cluster();
      for (const node of c.nodes) if (!node.alive) await c.restart(node);
      await c.waitUntilOk({ timeoutMs: 20_000 });
    }
  });

  const harness: TestHarness = {
    cluster() {
      if (!cluster) throw new Error('useHarness: no cluster (pass `cluster` in the options)');
      return cluster();
    },
    get fake() {
      if (!fake) throw new Error('useHarness: no fake Slack (pass `fakeSlack: true`, and use it inside a test)');
      return fake;
    },
    get prefix() {
      if (!prefix) throw new Error('useHarness: the prefix is made for each test (use it inside a test)');
      return prefix;
    },
    track(thing) {
      cleanups.push(() => ('close' in thing ? thing.close() : 'stop' in thing ? thing.stop() : thing.disconnect()));
      return thing;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
  return harness;
}

/** A prefix of its own on the shared queue Redis. */
export function testPrefix(): string {
  return `test-${randomUUID()}`;
}

/** Set TEST_LOG_LEVEL=debug to see what the code under test does. */
export function testLogger(): Logger {
  return createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

/** A connection to the queue Redis that fails fast instead of queueing commands while it is away. */
export function queueRedis(url = QUEUE_REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 2000, connectTimeout: 2000 });
}
