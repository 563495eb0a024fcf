import type { Redis } from 'ioredis';

/** Bytes read so far on one connection, and whether the cap was passed (then the socket is gone). */
export interface ReadCount {
  exceeded: boolean;
  /** A caller that reuses the connection may set it back to 0 between its requests. */
  received: number;
}

/**
 * Bound the bytes one node can make us read and hold. ioredis (through redis-parser) buffers a
 * bulk reply until it is complete, and offers no size limit: a node answering CLUSTER NODES with
 * 50 MB would cost 50 MB of buffers, then as much again as a string, per node, in the process
 * that also acks Slack. So every chunk read from this connection is counted as it arrives, and
 * past the cap the socket is destroyed: nothing more is read, the parser holds at most the cap
 * plus one chunk (64 KiB), and the pending commands fail (the caller says why). The chunk that
 * passes the cap still reaches the parser (its other 'data' listeners run all the same): a reply
 * it completes resolves, so a caller checks `exceeded` after each reply too, not only on failure. Counting the raw
 * stream, rather than parsing CLUSTER NODES ourselves on a socket of our own, keeps AUTH, ACL
 * users, TLS and the pipeline in ioredis, where they already work, and covers every reply,
 * unsolicited bytes included. The listener goes in front of ioredis's own (it is added on the
 * 'connect' event, which ioredis emits a tick after attaching its parser, before any data).
 */
export function capReplyBytes(redis: Redis, maxBytes: number): ReadCount {
  const state: ReadCount = { exceeded: false, received: 0 };
  redis.once('connect', () => {
    const stream = redis.stream;
    stream.prependListener('data', (chunk: Buffer) => {
      state.received += chunk.length;
      if (state.received > maxBytes && !state.exceeded) {
        state.exceeded = true;
        stream.destroy();
      }
    });
  });
  return state;
}
