import Redis from 'ioredis';
import { parseHostPort } from '../cluster/address';
import type { RedisAuth } from '../cluster/collect-snapshot';
import { DEFAULT_COLLECTION_LIMITS } from '../cluster/limits';
import { capReplyBytes, type ReadCount } from '../cluster/read-cap';
import { refusedAuth } from '../cluster/refused-auth';
import type { AddressScope } from '../cluster/scope';
import { errorMessage } from '../errors';

interface Link {
  redis: Redis;
  ready: Promise<void>;
  socketError?: unknown;
  /** Bytes read since the link was last idle (no request waiting for its reply). */
  read: ReadCount;
  waiting: number;
}

/** A node answered more than the read cap while requests waited on its link (the link is gone). */
export class ReplyTooLargeError extends Error {
  constructor(readonly maxReplyBytes: number) {
    super(`answered more than ${maxReplyBytes.toLocaleString('en-US')} bytes (collection.maxReplyBytes); not read further`);
    this.name = 'ReplyTooLargeError';
  }
}

/**
 * Connections to the nodes a repair talks to, one per node, reused across steps and polls.
 * Every call is bounded: a node that does not connect or reply in time yields an error naming
 * the timeout (and its connection is dropped, so a frozen node cannot wedge the next call).
 */
export class NodeLinks {
  private readonly links = new Map<string, Link>();

  /**
   * `scope`: the cluster's configured scope; an address outside it is never connected to.
   * `maxReplyBytes`: what a node may make us read for the requests in flight on its link at once
   * (the collection's cap, collection.maxReplyBytes): a verification round asks every node for its
   * CLUSTER NODES every 100 ms, and a node's answers are data, however large it makes them.
   */
  constructor(
    private readonly auth: RedisAuth,
    private readonly connectTimeoutMs: number,
    private readonly scope: AddressScope,
    private readonly maxReplyBytes = DEFAULT_COLLECTION_LIMITS.maxReplyBytes,
  ) {}

  async call(addr: string, args: string[], timeoutMs: number): Promise<unknown> {
    return this.send(addr, args, timeoutMs, false);
  }

  /** The same, binary-safe: arguments may be Buffers and bulk replies come back as Buffers (key names). */
  async callBuffer(addr: string, args: Array<string | Buffer>, timeoutMs: number): Promise<unknown> {
    return this.send(addr, args, timeoutMs, true);
  }

  private async send(addr: string, args: Array<string | Buffer>, timeoutMs: number, buffers: boolean): Promise<unknown> {
    // validatePlan refuses such steps first; this holds for checks and verification polls too.
    if (!this.scope.allows(addr))
      throw new Error(`${addr} is outside the addresses allowed for this cluster (${this.scope.description}); not connected`);
    const link = this.link(addr);
    link.waiting++;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply from ${addr} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([link.ready, deadline]);
      const [name, ...rest] = args;
      const reply = buffers ? link.redis.callBuffer(String(name), ...rest) : link.redis.call(String(name), ...rest);
      const answer = await Promise.race([reply, deadline]);
      // The chunk that passed the cap still reaches the parser (the cap hangs up after it): a reply
      // it completed is over the cap all the same, and is not used.
      if (link.read.exceeded) throw new ReplyTooLargeError(this.maxReplyBytes);
      return answer;
    } catch (err) {
      this.drop(addr, link);
      if (link.read.exceeded) throw new ReplyTooLargeError(this.maxReplyBytes);
      const cause =
        (await refusedAuth(err, Boolean(this.auth.password), () => link.socketError)) ??
        (link.socketError && /Connection is closed|connect/i.test(errorMessage(err)) ? link.socketError : err);
      throw new Error(describe(cause));
    } finally {
      clearTimeout(timer);
      // The cap bounds what is buffered at once, not what a link reads over a whole repair.
      if (--link.waiting === 0) link.read.received = 0;
    }
  }

  /** A reply as text: bulk strings as they are, arrays and numbers as JSON. */
  async text(addr: string, args: string[], timeoutMs: number): Promise<string> {
    return replyText(await this.call(addr, args, timeoutMs));
  }

  close(): void {
    for (const link of this.links.values()) link.redis.disconnect();
    this.links.clear();
  }

  private link(addr: string): Link {
    const existing = this.links.get(addr);
    if (existing && existing.redis.status !== 'end' && existing.redis.status !== 'close') return existing;
    const { host, port } = parseHostPort(addr);
    const redis = new Redis({
      host,
      port,
      ...(this.auth.username ? { username: this.auth.username } : {}),
      ...(this.auth.password ? { password: this.auth.password } : {}),
      ...(this.auth.tls ? { tls: this.auth.tls === true ? {} : this.auth.tls } : {}),
      lazyConnect: true,
      connectTimeout: this.connectTimeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      enableReadyCheck: false,
      // No CLIENT SETINFO round trip before the first command (see collect-snapshot's connectionTo).
      disableClientInfo: true,
      autoResubscribe: false,
    });
    const link: Link = { redis, ready: Promise.resolve(), read: capReplyBytes(redis, this.maxReplyBytes), waiting: 0 };
    redis.on('error', (err) => {
      link.socketError ??= err;
    });
    link.ready = redis.connect();
    link.ready.catch(() => undefined);
    this.links.set(addr, link);
    return link;
  }

  private drop(addr: string, link: Link): void {
    if (this.links.get(addr) === link) this.links.delete(addr);
    link.redis.disconnect();
  }
}

export function replyText(reply: unknown): string {
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (reply === null || reply === undefined) return '(nil)';
  return JSON.stringify(reply, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

function describe(err: unknown): string {
  const code = (err as { code?: string } | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `host unreachable (${code})`;
  const message = errorMessage(err);
  if (/connect ETIMEDOUT|connect timeout/i.test(message)) return 'connect timed out';
  return message;
}
