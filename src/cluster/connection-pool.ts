import type { Redis } from 'ioredis';
import type { ReadCount } from './read-cap';

/** A node connection a probe may hand back for the next collection, with its read-cap count. */
export interface PooledConnection {
  redis: Redis;
  read: ReadCount;
}

const DEFAULT_IDLE_MS = 60_000;

/**
 * Connections kept open between the collections of one cluster, at most one per node address.
 * The monitor asks every node of every cluster every few seconds: without this, each poll of a
 * 1000-node cluster opened and closed a thousand connections (and sent AUTH, and for TLS made a
 * thousand handshakes), which cost a third of the poll's CPU here and as much churn on the nodes.
 *
 * Only a connection whose probe ended cleanly comes back (every reply read, nothing in flight,
 * under the read cap, no socket error): any failure closes it, so the next probe of that node
 * dials afresh and reports what a fresh connection finds. A connection that closed while idle (a
 * node that died or restarted) is dropped when next taken. Idle connections do not keep the
 * process alive, and close after `idleMs` unused. One pool serves one set of connection settings
 * (credentials, TLS, timeouts, read cap): settings that change get a new pool.
 */
export class ConnectionPool {
  private readonly idle = new Map<string, { connection: PooledConnection; since: number }>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly idleMs = DEFAULT_IDLE_MS) {}

  /** The idle connection to `addr`, if one is still open; it is the caller's until given back. */
  take(addr: string): PooledConnection | undefined {
    const entry = this.idle.get(addr);
    if (!entry) return undefined;
    this.idle.delete(addr);
    const { connection } = entry;
    connection.redis.off('error', ignoreWhileIdle);
    if (connection.redis.status !== 'ready') {
      connection.redis.disconnect();
      return undefined;
    }
    connection.redis.stream.ref();
    connection.read.received = 0;
    return connection;
  }

  /** Keep a connection whose probe ended cleanly; anything else is closed. */
  give(addr: string, connection: PooledConnection): void {
    const { redis } = connection;
    if (redis.status !== 'ready' || connection.read.exceeded || redis.commandQueue.length > 0) {
      redis.disconnect();
      return;
    }
    const previous = this.idle.get(addr);
    if (previous) hangUp(previous.connection);
    // An idle connection's node may die: its error is expected, and read when it is next taken.
    redis.on('error', ignoreWhileIdle);
    redis.stream.unref();
    this.idle.set(addr, { connection, since: Date.now() });
    this.sweepLater();
  }

  /** Close every idle connection. */
  close(): void {
    for (const entry of this.idle.values()) hangUp(entry.connection);
    this.idle.clear();
    clearTimeout(this.sweeper);
    this.sweeper = undefined;
  }

  get size(): number {
    return this.idle.size;
  }

  private sweepLater(): void {
    if (this.sweeper) return;
    this.sweeper = setTimeout(() => {
      this.sweeper = undefined;
      const oldest = Date.now() - this.idleMs;
      for (const [addr, entry] of this.idle) {
        if (entry.since > oldest) continue;
        this.idle.delete(addr);
        hangUp(entry.connection);
      }
      if (this.idle.size > 0) this.sweepLater();
    }, this.idleMs / 2);
    this.sweeper.unref();
  }
}

function ignoreWhileIdle(): void {}

function hangUp(connection: PooledConnection): void {
  connection.redis.off('error', ignoreWhileIdle);
  connection.redis.disconnect();
}
