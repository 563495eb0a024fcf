import type { Redis } from 'ioredis';
import type { ReadCount } from './read-cap';

/** A node connection a probe may hand back for the next collection, with its read-cap count. */
export interface PooledConnection {
  redis: Redis;
  read: ReadCount;
  /** When it was dialled (epoch ms): a connection is reused for at most the pool's maxAgeMs. */
  opened: number;
}

const DEFAULT_MAX_AGE_MS = 60_000;

/** Where a probe takes a kept connection to a node, and gives back one that ended cleanly. */
export interface NodeConnections {
  take(addr: string): PooledConnection | undefined;
  give(addr: string, connection: PooledConnection): void;
}

interface IdleConnection {
  connection: PooledConnection;
  /** Set by any error while idle (the node closed it, or sent a whole reply nobody asked for). */
  tainted: boolean;
  /** Bytes read when it was given back: any byte since (even part of a reply) makes it unfit. */
  receivedWhenIdle: number;
  onError: () => void;
}

/**
 * Connections kept open between the light probes of one cluster, at most one per node address.
 * The monitor asks every node of every cluster every few seconds: without this, each poll of a
 * 1000-node cluster opened and closed a thousand connections (and sent AUTH, and for TLS made a
 * thousand handshakes), which cost a third of the poll's CPU here and as much churn on the nodes.
 *
 * A kept connection cannot see everything a new one would: a password rotated on the nodes (a
 * logged-in connection stays logged in), a host gone without a word (no FIN: the kept connection
 * times out where a new one would fail to connect), a hostname that now resolves elsewhere. So
 * connections are kept for at most `maxAgeMs` from when they were dialled, only the light probe
 * uses them (whose only question is "is anything off?"), and what it finds off goes to a full
 * diagnosis that dials every node afresh, as do the periodic deep check, /redis-diagnose and a
 * repair: causes, plans and evidence always come from new connections (which then stay for the
 * light probes: `dialAfresh`).
 *
 * Only a connection whose probe ended cleanly comes back (every reply read, nothing in flight,
 * under the read cap, no socket error); any failure closes it. A connection that closed, erred or
 * received anything while idle is dropped when next taken (a partial reply parked in its parser
 * would otherwise carry over, past the read cap, into the next probe). What a node sends in the
 * same packet as its last answer is parked before the connection comes back, and is not seen
 * here: its next probe then reads garbage and fails, so such a node can only make itself look
 * down, which it could do anyway; its memory stays within twice the read cap. Idle connections
 * do not keep the process alive. One pool serves one set of connection settings (credentials,
 * TLS, timeouts, read cap): settings that change get a new pool, and a closed pool keeps nothing
 * given back to it later.
 */
export class ConnectionPool implements NodeConnections {
  private readonly idle = new Map<string, IdleConnection>();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly maxAgeMs = DEFAULT_MAX_AGE_MS) {}

  /** The idle connection to `addr`, if it is still fit for use; it is the caller's until given back. */
  take(addr: string): PooledConnection | undefined {
    const entry = this.idle.get(addr);
    if (!entry) return undefined;
    this.idle.delete(addr);
    const { connection } = entry;
    const sentWhileIdle = connection.read.received !== entry.receivedWhenIdle;
    if (entry.tainted || sentWhileIdle || connection.redis.status !== 'ready' || connection.read.exceeded || this.tooOld(connection)) {
      // Its listener stays: a connection being closed must never be left without one (ioredis
      // emits a reply nobody waits for as an 'error', which would otherwise throw).
      connection.redis.disconnect();
      return undefined;
    }
    // The caller attaches its own listener at once (synchronously, so no event falls between).
    connection.redis.off('error', entry.onError);
    connection.redis.stream.ref();
    connection.read.received = 0;
    return connection;
  }

  /**
   * Keep a connection whose probe ended cleanly (anything else is closed). Call before removing
   * the probe's own error listener: the pool's is attached here.
   */
  give(addr: string, connection: PooledConnection): void {
    const { redis } = connection;
    if (this.closed || redis.status !== 'ready' || connection.read.exceeded || redis.commandQueue.length > 0 || this.tooOld(connection)) {
      redis.disconnect();
      return;
    }
    this.idle.get(addr)?.connection.redis.disconnect();
    const entry: IdleConnection = {
      connection,
      tainted: false,
      receivedWhenIdle: connection.read.received,
      onError: () => {
        entry.tainted = true;
      },
    };
    redis.on('error', entry.onError);
    redis.stream.unref();
    this.idle.set(addr, entry);
    this.sweepLater();
  }

  /**
   * For a full diagnosis: every probe dials afresh (nothing is taken), and the new connections
   * that ended cleanly are kept for the light probes that follow.
   */
  dialAfresh(): NodeConnections {
    return { take: () => undefined, give: (addr, connection) => this.give(addr, connection) };
  }

  /** Close every idle connection; connections given back later are closed too. */
  close(): void {
    this.closed = true;
    for (const entry of this.idle.values()) entry.connection.redis.disconnect();
    this.idle.clear();
    clearTimeout(this.sweeper);
    this.sweeper = undefined;
  }

  private tooOld(connection: PooledConnection): boolean {
    return Date.now() - connection.opened >= this.maxAgeMs;
  }

  /** Close connections past their age even when no probe comes to take them. */
  private sweepLater(): void {
    if (this.sweeper) return;
    this.sweeper = setTimeout(() => {
      this.sweeper = undefined;
      for (const [addr, entry] of this.idle) {
        if (!this.tooOld(entry.connection)) continue;
        this.idle.delete(addr);
        entry.connection.redis.disconnect();
      }
      if (this.idle.size > 0) this.sweepLater();
    }, this.maxAgeMs / 2);
    this.sweeper.unref();
  }
}
