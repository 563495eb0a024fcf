// Which connections this thread opens: each worker thread has its own `net`, so a spy on this
// thread's net.Socket sees only the connections opened here (not those of a probe thread).
import net from 'node:net';
import sinon from 'sinon';

/** From now on, count the connections this thread opens to any of `ports` (restore with sinon.restore()). */
export function countConnectsFromThisThread(ports: Iterable<number>): () => number {
  const wanted = new Set(ports);
  const connects = sinon.spy(net.Socket.prototype, 'connect');
  // net.createConnection hands connect() its arguments already normalized, as one array.
  const portOf = ([first]: unknown[]): number => Number((Array.isArray(first) ? first[0] : first)?.port);
  return () => connects.args.filter((args) => wanted.has(portOf(args))).length;
}
