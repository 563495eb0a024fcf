import assert from 'node:assert/strict';
import net from 'node:net';
import { Redis } from 'ioredis';
import { queueKeys } from '../../../src/queue-keys';
import { acquireRepairLock } from '../../../src/repair/lock';
import { eventually } from '../../helpers/cluster';
import { useQueueRedis } from './support';

describe('repair: per-cluster lock in the queue Redis', function () {
  this.timeout(10_000);
  const queue = useQueueRedis();
  const key = (name: string): string => queueKeys(queue.prefix).repairLock(name);

  it('lets one holder in, refuses the next one and names the holder', async () => {
    const first = await acquireRepairLock(queue.redis(), key('a'), { ttlMs: 5000, actor: 'U1', planId: 'assign-111111111111' });
    assert.ok(first.acquired);
    const second = await acquireRepairLock(queue.redis(), key('a'), { ttlMs: 5000, actor: 'U2', planId: 'assign-222222222222' });
    assert.equal(second.acquired, false);
    assert.equal(!second.acquired && second.holder?.actor, 'U1');
    await first.lock.release();
    await first.lock.release(); // twice is fine
    assert.equal(await queue.redis().exists(key('a')), 0);
  });

  it('renews itself while held, past its TTL', async () => {
    // A generous TTL: the claim is "renewed past its TTL", not a latency bound, and a busy machine
    // may stall the event loop for a few hundred ms.
    const result = await acquireRepairLock(queue.redis(), key('b'), { ttlMs: 900, actor: 'U1', planId: 'assign-111111111111' });
    assert.ok(result.acquired);
    await eventually(() => result.lock.renewals >= 4, { timeoutMs: 8000, what: 'four renewals (more than one TTL)' });
    assert.equal(result.lock.lost, false);
    assert.equal(JSON.parse((await queue.redis().get(key('b')))!).token, result.lock.holder.token);
    await result.lock.release();
  });

  it('notices when it lost the lock, and never deletes a lock it does not hold', async () => {
    const result = await acquireRepairLock(queue.redis(), key('c'), { ttlMs: 150, actor: 'U1', planId: 'assign-111111111111' });
    assert.ok(result.acquired);
    await queue.redis().set(key('c'), 'someone else', 'PX', 5000);
    await eventually(() => result.lock.lost, { timeoutMs: 5000, what: 'the lock to be flagged lost' });
    await result.lock.release();
    assert.equal(await queue.redis().get(key('c')), 'someone else');
  });

  it('waits for the lock when asked to, and gets it once it is released', async () => {
    const first = await acquireRepairLock(queue.redis(), key('d'), { ttlMs: 5000, actor: 'U1', planId: 'assign-111111111111' });
    assert.ok(first.acquired);
    const waiting = acquireRepairLock(queue.redis(), key('d'), {
      ttlMs: 5000,
      actor: 'U2',
      planId: 'assign-222222222222',
      wait: { timeoutMs: 5000 },
      pollMs: 20,
    });
    let settled = false;
    void waiting.then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false);
    await first.lock.release();
    const second = await waiting;
    assert.ok(second.acquired);
    await second.lock.release();
  });

  it("says who holds the lock and when it lapses, once, when a wait begins; a dead holder's lock is waited out", async () => {
    // A holder that died: its lock is never renewed nor released, it only lapses.
    await queue
      .redis()
      .set(key('g'), JSON.stringify({ token: 't', actor: 'U0DEAD', planId: 'assign-333333333333', since: 'then' }), 'PX', 300);
    const told: Array<{ actor: string | undefined; expiresInMs: number | null }> = [];
    const result = await acquireRepairLock(queue.redis(), key('g'), {
      ttlMs: 5000,
      actor: 'U2',
      planId: 'assign-222222222222',
      wait: { timeoutMs: 5000 },
      pollMs: 20,
      onHeld: (holder, expiresInMs) => {
        told.push({ actor: holder?.actor, expiresInMs });
      },
    });
    assert.ok(result.acquired);
    assert.equal(told.length, 1);
    assert.equal(told[0]!.actor, 'U0DEAD');
    assert.ok(told[0]!.expiresInMs !== null && told[0]!.expiresInMs > 0 && told[0]!.expiresInMs <= 300);
    await result.lock.release();
  });

  it('bounds every call to a queue Redis that does not answer', async () => {
    // A server that accepts connections and never replies: the shape of a hung Redis.
    const server = net.createServer((socket) => {
      socket.on('data', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    // Commands wait in the offline queue forever: ioredis's own handshake never gets a reply.
    const silent = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 });
    silent.on('error', () => undefined);
    try {
      await assert.rejects(
        acquireRepairLock(silent, key('f'), { ttlMs: 5000, actor: 'U1', planId: 'assign-111111111111', opTimeoutMs: 200 }),
        /no reply from the queue Redis within 200 ms/,
      );
    } finally {
      silent.disconnect();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('gives up waiting after the timeout', async () => {
    const first = await acquireRepairLock(queue.redis(), key('e'), { ttlMs: 5000, actor: 'U1', planId: 'assign-111111111111' });
    assert.ok(first.acquired);
    const second = await acquireRepairLock(queue.redis(), key('e'), {
      ttlMs: 5000,
      actor: 'U2',
      planId: 'assign-222222222222',
      wait: { timeoutMs: 200 },
      pollMs: 20,
    });
    assert.equal(second.acquired, false);
    assert.ok(!second.acquired && second.expiresInMs !== null && second.expiresInMs > 0 && second.expiresInMs <= 5000);
    await first.lock.release();
  });
});
