// The incident monitor against a real cluster (3 masters, no replicas, node-timeout 1000 ms),
// the real queue Redis and the fake Slack Web API. "Two monitor processes" are two complete
// job systems in this process, each with its own connections, sharing only the queue Redis:
// exactly what two `start` processes share.
import assert from 'node:assert/strict';
import type { Job } from 'bullmq';
import { createJobSystem, type JobSystem } from '../../../src/jobs/system';
import type { MonitorJobData } from '../../../src/jobs/types';
import type { Config } from '../../../src/config/schema';
import type { PollOutcome } from '../../../src/incidents/monitor';
import { lastKnownNodeState } from '../../../src/incidents/store';
import { eventually, type TestCluster, type TestNode } from '../../helpers/cluster';
import { useHarness } from '../../helpers/harness';
import {
  CHANNEL,
  CLUSTER,
  count,
  inThread,
  isIncidentRoot,
  isResolvedEdit,
  isRiskMessage,
  monitorProcess,
  moreThan,
  testConfig,
  testLogger,
  type MonitorProcess,
} from './harness';

const POLL: MonitorJobData = { cluster: CLUSTER, reason: 'schedule' };

describe('incident monitor on a real cluster', function () {
  this.timeout(60_000);
  const h = useHarness({ cluster: { masters: 3, nodeTimeoutMs: 1000 }, healCluster: true, fakeSlack: true });

  function victimOf(c: TestCluster): TestNode {
    return c.masters()[2]!; // slots 10923-16383
  }

  it('two monitor processes, one killed master without replica: one incident thread, then resolved with its duration', async () => {
    const c = h.cluster();
    const config = testConfig(h.prefix, c.seeds, h.fake, { intervalMs: 500, resolveAfterPolls: 3 });
    const outcomes: PollOutcome[] = [];
    const systems = [startMonitorSystem(config, 'monitor-a', outcomes), startMonitorSystem(config, 'monitor-b', outcomes)];
    for (const system of systems) {
      await system.whenReady(10_000);
      const synced = system.whenSchedulersSynced(10_000);
      await system.startWorkers({ queues: ['monitor'] });
      await system.startSchedulers();
      await synced;
    }

    // Healthy but fragile (no replicas): one risk message, never an incident.
    await h.fake.waitFor('chat.postMessage', isRiskMessage, 15_000);
    await moreThan(() => outcomes.length, 3, 'three more polls');
    assert.equal(count(h.fake, isIncidentRoot), 0);

    const victim = victimOf(c);
    const killedAt = Date.now();
    await c.kill(victim);
    const root = await h.fake.waitFor('chat.postMessage', isIncidentRoot, 15_000);
    const mttdMs = root.at - killedAt;
    const target = c.nodeTimeoutMs + config.monitor.intervalMs + 1000;
    // Reported, not asserted: timings on a shared machine are noise (bench/mttd.bench.ts measures it).
    console.log(`      kill -> incident message: ${mttdMs} ms (goal: node-timeout + interval + 1 s = ${target} ms)`);
    const observer = h.track(monitorProcess(config));
    const rootTs = await storedRootTs(observer);
    assert.equal(root.params.channel, CHANNEL);
    assert.equal(
      root.params.text,
      `:red_circle: payments is DOWN — Master ${victim.addr} is down and has no replica — 5461 slots not served (10923-16383)`,
    );
    await h.fake.waitFor('chat.postMessage', inThread(rootTs), 15_000);

    await moreThan(() => outcomes.length, 4, 'four more polls while the master is down');
    assert.equal(count(h.fake, isIncidentRoot), 1, 'exactly one incident root message');
    assert.ok(outcomes.some((o) => o.incident?.action === 'opened'));

    await c.restart(victim);
    await c.waitUntilOk();
    const resolved = await h.fake.waitFor('chat.update', isResolvedEdit(rootTs), 20_000);
    assert.match(
      String(resolved.params.text),
      /^:large_green_circle: payments: Resolved after \d+s\. Cause: Master .* is down and has no replica\. Fix: none by redis-medic/,
    );
    await h.fake.waitFor('chat.postMessage', (call) => inThread(rootTs)(call) && /Resolved after/.test(String(call.params.text)), 10_000);

    await moreThan(() => outcomes.length, 3, 'three polls after the resolution');
    assert.equal(count(h.fake, isIncidentRoot), 1, 'still one root message');
    assert.equal(count(h.fake, isResolvedEdit(rootTs)), 1, 'resolved once, by one process');
    assert.equal(
      count(h.fake, (call) => inThread(rootTs)(call) && /Resolved after/.test(String(call.params.text))),
      1,
    );
    assert.equal(count(h.fake, isRiskMessage), 1, 'the risk digest is not repeated within its interval');
    for (const call of h.fake.callsTo('chat.postMessage').filter((x) => x.params.thread_ts))
      assert.equal(call.params.thread_ts, rootTs, 'every reply is in the one thread');

    const p = observer;
    assert.equal(await p.monitor.store.getIncident(CLUSTER), null);
    const history = await p.monitor.store.listResolved(CLUSTER);
    assert.equal(history.length, 1);
    assert.equal(history[0]!.cause?.code, 'MASTER_DOWN_NO_REPLICA');
    const audit = await p.audit.read({ cluster: CLUSTER });
    assert.equal(audit.filter((r) => r.action === 'incident.opened').length, 1);
    assert.equal(audit.filter((r) => r.action === 'incident.resolved').length, 1);

    function startMonitorSystem(cfg: Config, name: string, sink: PollOutcome[]): JobSystem {
      const proc = monitorProcess(cfg);
      const system = createJobSystem(cfg, {
        logger: testLogger(),
        monitorPoll: async (job: Job<MonitorJobData>) => {
          const outcome = await proc.monitor.poll(job.data, job.id);
          sink.push(outcome);
          return outcome;
        },
        workers: { name, shutdownGraceMs: 5000 },
      });
      h.defer(async () => {
        await system.close();
        await proc.close();
      });
      return system;
    }
  });

  it('two monitors polling at the same moment: one opens, the other joins, one root message', async () => {
    const c = h.cluster();
    let clock = Date.parse('2026-01-01T03:00:00Z');
    const config = testConfig(h.prefix, c.seeds, h.fake, { intervalMs: 500, resolveAfterPolls: 3 });
    const a = h.track(monitorProcess(config, { now: () => clock }));
    const b = h.track(monitorProcess(config, { now: () => clock }));

    await c.kill(victimOf(c));
    const first = await Promise.all([a.monitor.poll(POLL), b.monitor.poll(POLL)]);
    const actions = first.map((o) => o.incident?.action);
    assert.equal(actions.filter((x) => x === 'opened').length, 1, `actions: ${actions.join(', ')}`);
    assert.equal(new Set(first.map((o) => o.incident?.id)).size, 1, 'both polls speak of one incident');
    for (let round = 0; round < 3; round++) {
      clock += 500;
      await Promise.all([a.monitor.poll(POLL), b.monitor.poll(POLL)]);
    }
    assert.equal(count(h.fake, isIncidentRoot), 1);
    const rootTs = await storedRootTs(a);
    assert.ok(count(h.fake, inThread(rootTs)) >= 1, 'the diagnosis is in the thread');

    await c.restart(victimOf(c));
    await c.waitUntilOk();
    const later: PollOutcome[] = [];
    for (let round = 0; round < 20 && !later.some((o) => o.incident?.action === 'resolved'); round++) {
      clock += 500;
      later.push(...(await Promise.all([a.monitor.poll(POLL), b.monitor.poll(POLL)])));
    }
    assert.equal(later.filter((o) => o.incident?.action === 'resolved').length, 1, 'resolved by exactly one of them');
    assert.equal(count(h.fake, isResolvedEdit(rootTs)), 1);
  });

  it('a blip shorter than the resolve window keeps its thread; the resolution says how long it lasted', async () => {
    const c = h.cluster();
    const victim = victimOf(c);
    const openedAt = Date.parse('2026-01-01T03:17:00Z');
    let clock = openedAt;
    const config = testConfig(h.prefix, c.seeds, h.fake, { intervalMs: 500, resolveAfterPolls: 3 });
    const m = h.track(monitorProcess(config, { now: () => clock }));

    // Keys on the victim, so its history has something to tell once it is gone.
    const tag = await hashTagOn(c, victim);
    const client = c.client(victim);
    for (let i = 0; i < 37; i++) await client.set(`{${tag}}:k${i}`, 'v');
    assert.equal((await m.monitor.poll(POLL)).incident, null);

    await c.kill(victim);
    clock += 500;
    const opened = await m.monitor.poll(POLL);
    assert.equal(opened.incident?.action, 'opened');
    const before = await lastKnownNodeState(m.redis, h.prefix, CLUSTER, victim.addr);
    assert.equal(before?.keys, 37, 'the dead node keeps its last known key count');
    assert.deepEqual(before?.slots, [[10923, 16383]]);
    assert.equal(before?.at, openedAt);

    await c.restart(victim);
    await c.waitUntilOk();
    const recovering = await pollUntil(m, () => (clock += 500), 'recovering');
    assert.equal(recovering.incident?.id, opened.incident?.id);

    // The blip: down again before the resolve window is over.
    await c.kill(victim);
    clock += 500;
    const again = await m.monitor.poll(POLL);
    assert.equal(again.incident?.id, opened.incident?.id, 'the same incident');
    assert.equal(again.incident?.action, 'updated');
    assert.equal(count(h.fake, isIncidentRoot), 1, 'no new thread for a blip');
    const rootTs = await storedRootTs(m);
    const edits = h.fake
      .callsTo('chat.update')
      .filter((x) => x.params.ts === rootTs)
      .map((x) => String(x.params.text));
    assert.ok(
      edits.some((t) => t.startsWith(':large_yellow_circle:')),
      'root said it was recovering',
    );
    assert.ok(edits[edits.length - 1]!.startsWith(':red_circle:'), 'and then down again');

    await c.restart(victim);
    await c.waitUntilOk();
    // Two healthy polls, then the third exactly 4m 12s after the incident opened.
    let record = (await m.monitor.store.getIncident(CLUSTER))!.record;
    for (let i = 0; i < 40 && record.healthyPolls < 2; i++) {
      clock += 500;
      await m.monitor.poll(POLL);
      record = (await m.monitor.store.getIncident(CLUSTER))!.record;
    }
    assert.equal(record.healthyPolls, 2);
    clock = openedAt + 252_000;
    assert.equal((await m.monitor.poll(POLL)).incident?.action, 'resolved');
    const resolved = await h.fake.waitFor('chat.update', isResolvedEdit(rootTs), 5000);
    assert.match(
      String(resolved.params.text),
      /^:large_green_circle: payments: Resolved after 4m 12s\. Cause: Master .* is down and has no replica\./,
    );
    assert.equal(count(h.fake, isIncidentRoot), 1);
  });

  it('a fault the light probe cannot see (an open slot) is found by the periodic deep check', async () => {
    const c = h.cluster();
    let clock = Date.parse('2026-01-01T03:00:00Z');
    const config = testConfig(h.prefix, c.seeds, h.fake, { intervalMs: 500, resolveAfterPolls: 1 });
    const m = h.track(monitorProcess(config, { now: () => clock }));
    const [source, target] = [c.masters()[0]!, c.masters()[1]!];
    await c.openSlot(42, source, target);
    try {
      const outcome = await m.monitor.poll(POLL);
      assert.equal(outcome.off, false, 'cluster_state is ok everywhere');
      assert.equal(outcome.incident?.action, 'opened');
      assert.equal((await m.monitor.store.getIncident(CLUSTER))?.record.cause?.code, 'OPEN_SLOTS');
    } finally {
      for (const node of [target, source]) await c.client(node).call('CLUSTER', 'SETSLOT', '42', 'STABLE');
    }
    clock += 500;
    assert.equal((await m.monitor.poll(POLL)).incident?.action, 'resolved', 'checked in full while the incident is open');
  });

  it('Slack refusing the root message: the incident stays open and the next poll posts it', async () => {
    const c = h.cluster();
    const config = testConfig(h.prefix, c.seeds, h.fake, { intervalMs: 500, resolveAfterPolls: 3 });
    const m = h.track(monitorProcess(config));
    await c.kill(victimOf(c));
    h.fake.failNext('chat.postMessage', 'not_in_channel');
    const first = await m.monitor.poll(POLL);
    assert.equal(first.incident?.action, 'opened');
    assert.equal((await m.monitor.store.getIncident(CLUSTER))?.record.rootTs, null);
    const second = await m.monitor.poll(POLL);
    assert.equal(second.incident?.id, first.incident?.id);
    assert.ok(await storedRootTs(m));
    assert.equal(count(h.fake, isIncidentRoot), 2, 'the refused attempt, then the one that landed');
    assert.equal(h.fake.callsTo('chat.postMessage').filter((x) => x.params.thread_ts).length > 0, true, 'and its thread got the diagnosis');
  });

  it('an outage of every node is still one incident, described as "no node answered"', async () => {
    const c = h.cluster();
    const config = testConfig(h.prefix, c.seeds, h.fake, { intervalMs: 500, resolveAfterPolls: 1 });
    const m = h.track(monitorProcess(config));
    await m.monitor.poll(POLL); // learns the nodes
    await Promise.all(c.nodes.map((n) => c.kill(n)));
    const outcome = await m.monitor.poll(POLL);
    assert.equal(outcome.incident?.action, 'opened');
    const root = await h.fake.waitFor('chat.postMessage', isIncidentRoot, 5000);
    assert.match(String(root.params.text), /^:red_circle: payments is DOWN — No node of payments answered/);
  });
});

/** The root message's ts, as the process that posted it stored it. */
async function storedRootTs(p: MonitorProcess): Promise<string> {
  let ts: string | null = null;
  await eventually(
    async () => {
      ts = (await p.monitor.store.getIncident(CLUSTER))?.record.rootTs ?? null;
      return ts !== null;
    },
    { what: 'the incident root ts to be stored', timeoutMs: 10_000 },
  );
  return ts!;
}

async function pollUntil(m: MonitorProcess, tick: () => void, action: string, attempts = 40): Promise<PollOutcome> {
  let last: PollOutcome | undefined;
  for (let i = 0; i < attempts; i++) {
    tick();
    last = await m.monitor.poll(POLL);
    if (last.incident?.action === action) return last;
  }
  throw new Error(`no poll said "${action}" within ${attempts} polls; last: ${JSON.stringify(last)}`);
}

/** A hash tag whose slot the node owns, so plain SETs on it are not redirected. */
async function hashTagOn(c: TestCluster, node: TestNode): Promise<string> {
  const client = c.client(node);
  for (let i = 0; i < 10_000; i++) {
    const slot = Number(await client.call('CLUSTER', 'KEYSLOT', `{t${i}}`));
    if (node.slots.some(([from, to]) => slot >= from && slot <= to)) return `t${i}`;
  }
  throw new Error(`no hash tag found for ${node.addr}`);
}
