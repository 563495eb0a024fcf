// State survives the queue Redis (issue 10 §3): a queue Redis restarted empty in the middle of an
// incident does not make a second thread (the open root is found in the channel by its message
// metadata and adopted, with its opening time), and a flapping master keeps one thread.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { Config } from '../../../src/config/schema';
import { startThrowawayRedis } from '../../../src/devtools/redis-server';
import type { ClusterMonitor, PollOutcome } from '../../../src/incidents/monitor';
import type { MonitorJobData } from '../../../src/jobs/types';
import { eventually } from '../../helpers/cluster';
import { useHarness } from '../../helpers/harness';
import { CLUSTER, count, inThread, isIncidentRoot, isResolvedEdit, monitorProcess, testConfig } from './harness';

const POLL: MonitorJobData = { cluster: CLUSTER, reason: 'schedule' };

describe('incident state survives the queue Redis', function () {
  this.timeout(90_000);
  const h = useHarness({ cluster: { masters: 3 }, healCluster: true, fakeSlack: true });

  /** A monitor process with the production incident publisher, on `redis` if given (else on a connection of its own). */
  const monitorOn = (config: Config, redis?: Redis): ClusterMonitor => h.track(monitorProcess(config, redis ? { redis } : {})).monitor;

  async function pollUntil(m: ClusterMonitor, actions: string[], attempts = 40): Promise<PollOutcome> {
    let last: PollOutcome | undefined;
    for (let i = 0; i < attempts; i++) {
      last = await m.poll(POLL);
      if (actions.includes(last.incident?.action ?? '')) return last;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no poll said ${actions.join(' or ')} within ${attempts} polls; last: ${JSON.stringify(last)}`);
  }

  it('the queue Redis restarted empty during an incident: the open thread is adopted, not doubled, and the resolution counts from the first opening', async () => {
    const c = h.cluster();
    // Our own queue Redis, without persistence, so that it can be restarted empty.
    const queue = h.track(await startThrowawayRedis());
    const config = testConfig(h.prefix, c.seeds, h.fake, { resolveAfterPolls: 2 }, { queue: { prefix: h.prefix, redisUrl: queue.url } });
    const redis = new Redis(queue.url, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
    redis.on('error', () => undefined);
    h.defer(async () => redis.disconnect());
    const m = monitorOn(config, redis);

    await c.kill(c.masters()[2]!);
    assert.equal((await m.poll(POLL)).incident?.action, 'opened');
    const first = (await m.store.getIncident(CLUSTER))!.record;
    assert.ok(first.rootTs);
    const openedAt = first.openedAt;

    await queue.restart();
    await eventually(async () => (await redis.ping().catch(() => '')) === 'PONG', { what: 'the queue Redis to be back' });
    assert.equal(await redis.dbsize(), 0, 'it came back empty');

    const after = await m.poll(POLL);
    assert.deepEqual(after.thread?.steps.slice(0, 3), ['adopt', 'note', 'diagnosis'], JSON.stringify(after));
    const adopted = (await m.store.getIncident(CLUSTER))!.record;
    assert.deepEqual(
      { id: adopted.id, rootTs: adopted.rootTs, openedAt: adopted.openedAt },
      { id: first.id, rootTs: first.rootTs, openedAt },
    );
    assert.equal(count(h.fake, isIncidentRoot), 1, 'no second root message');
    assert.ok(
      h.fake
        .callsTo('chat.postMessage')
        .some((x) => inThread(first.rootTs!)(x) && /picked this thread up again/.test(String(x.params.text))),
    );

    await c.restart(c.masters()[2]!);
    await c.waitUntilOk();
    await pollUntil(m, ['resolved']);
    const resolved = await h.fake.waitFor('chat.update', isResolvedEdit(first.rootTs!), 5000);
    const seconds = Number(/Resolved after (\d+)s/.exec(String(resolved.params.text))?.[1]);
    assert.ok(seconds >= Math.floor((Date.now() - openedAt) / 1000) - 1, `"${String(resolved.params.text)}" counts from the first opening`);
    assert.equal(count(h.fake, isIncidentRoot), 1);
  });

  it('a flapping master (killed and restarted 3 times): one thread, reopened each time, saying so', async () => {
    const c = h.cluster();
    const m = monitorOn(testConfig(h.prefix, c.seeds, h.fake, { resolveAfterPolls: 1, intervalMs: 250 }));
    const victim = c.masters()[2]!;
    const actions = await flap(
      m,
      3,
      async () => c.kill(victim),
      async () => {
        await c.restart(victim);
        await c.waitUntilOk();
      },
    );
    assert.deepEqual(actions, ['opened', 'reopened', 'reopened']);
    assertOneThread(2);
  });

  it('10 flaps within the reopen window (an owner dropping and re-claiming its slots): one thread, 9 "broke again" notes', async () => {
    const c = h.cluster();
    const m = monitorOn(testConfig(h.prefix, c.seeds, h.fake, { resolveAfterPolls: 1, intervalMs: 250 }));
    const owner = c.masters()[0]!;
    const actions = await flap(
      m,
      10,
      () => c.delSlotsRange(owner, 0, 99),
      async () => {
        await c.client(owner).call('CLUSTER', 'ADDSLOTSRANGE', '0', '99');
      },
    );
    assert.deepEqual(actions, ['opened', ...Array(9).fill('reopened')]);
    assertOneThread(9);
    assert.equal((await m.store.listResolved(CLUSTER)).length, 10, 'ten stretches in the history');
    assert.equal(new Set((await m.store.listResolved(CLUSTER)).map((r) => r.id)).size, 1, 'of one incident');
  });

  /** Breaks and heals the cluster `times` times, polling through each; returns what each break did to the incident. */
  async function flap(m: ClusterMonitor, times: number, breakIt: () => Promise<unknown>, heal: () => Promise<unknown>): Promise<string[]> {
    const actions: string[] = [];
    for (let i = 0; i < times; i++) {
      await breakIt();
      actions.push((await pollUntil(m, ['opened', 'reopened'])).incident!.action);
      await heal();
      await pollUntil(m, ['resolved']);
    }
    return actions;
  }

  function assertOneThread(reopened: number): void {
    assert.equal(count(h.fake, isIncidentRoot), 1, 'one thread');
    const rootTs = h.fake.callsTo('chat.postMessage').find(isIncidentRoot)!.response!.ts as string;
    const notes = h.fake
      .callsTo('chat.postMessage')
      .filter((x) => inThread(rootTs)(x) && /^:red_circle: Broke again/.test(String(x.params.text)));
    assert.equal(notes.length, reopened);
    assert.match(String(notes[reopened - 1]!.params.text), new RegExp(`this incident is reopened \\(${reopened} flaps? so far\\)`));
    const lastEdit = h.fake.callsTo('chat.update').filter(isResolvedEdit(rootTs)).pop()!;
    assert.match(JSON.stringify(lastEdit.params.blocks), new RegExp(`broke again ${reopened} times soon after being resolved`));
  }
});
