// The incident store on the real queue Redis: SET NX creation, compare-and-set, resolution and
// node history, raced from separate connections the way two monitor processes race.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { NodeState } from '../../../src/incidents/assess';
import { createIncidentStore, lastKnownNodeState, newIncidentRecord, type IncidentRecord } from '../../../src/incidents/store';

const ID_A = 'a'.repeat(40);

function record(id: string, overrides: Partial<IncidentRecord> = {}): IncidentRecord {
  return newIncidentRecord({
    id,
    cluster: 'payments',
    openedAt: 1000,
    openedBy: 'monitor',
    detectedBy: 'the monitor',
    channel: 'C1',
    rootTs: null,
    findingsSignature: 's1',
    rootSignature: 'r1',
    cause: null,
    healthyPolls: 0,
    healthySince: null,
    lastCountedAt: null,
    lastPollAt: 1000,
    polls: [],
    ...overrides,
  });
}

function state(at: number, keys: number, overrides: Partial<NodeState> = {}): NodeState {
  return { id: ID_A, addr: '10.0.0.32:6379', role: 'master', masterId: null, slots: [[10923, 16383]], keys, at, ...overrides };
}

describe('incidents/store on the queue Redis', () => {
  let prefix: string;
  let one: Redis;
  let two: Redis;

  beforeEach(() => {
    prefix = `test-${randomUUID()}`;
    one = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1, commandTimeout: 2000 });
    two = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1, commandTimeout: 2000 });
  });

  afterEach(async () => {
    const keys = await one.keys(`${prefix}:*`);
    if (keys.length) await one.del(...keys);
    one.disconnect();
    two.disconnect();
  });

  it('two processes creating the same incident at once: exactly one wins', async () => {
    const a = createIncidentStore(one, prefix);
    const b = createIncidentStore(two, prefix);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).createIncident(record(`inc-${i}`))));
    assert.equal(results.filter(Boolean).length, 1);
    const winner = results.indexOf(true);
    assert.equal((await a.getIncident('payments'))?.record.id, `inc-${winner}`);
  });

  it('compare-and-set: a writer that read an older value loses', async () => {
    const a = createIncidentStore(one, prefix);
    const b = createIncidentStore(two, prefix);
    await a.createIncident(record('inc'));
    const seenByA = (await a.getIncident('payments'))!;
    const seenByB = (await b.getIncident('payments'))!;
    assert.equal(await b.replaceIncident('payments', seenByB.raw, { ...seenByB.record, rootTs: '1.1' }), true);
    assert.equal(await a.replaceIncident('payments', seenByA.raw, { ...seenByA.record, healthyPolls: 1 }), false);
    assert.equal((await a.getIncident('payments'))?.record.rootTs, '1.1');
  });

  it('resolving deletes the open incident once and keeps it in the resolved list', async () => {
    const a = createIncidentStore(one, prefix);
    const b = createIncidentStore(two, prefix);
    await a.createIncident(record('inc'));
    const seen = (await a.getIncident('payments'))!;
    const resolved = { ...seen.record, resolvedAt: 5000, durationMs: 4000, fix: null };
    const results = await Promise.all([
      a.resolveIncident('payments', seen.raw, resolved),
      b.resolveIncident('payments', seen.raw, resolved),
    ]);
    assert.deepEqual(results.sort(), [false, true]);
    assert.equal(await a.getIncident('payments'), null);
    assert.deepEqual(
      (await a.listResolved('payments')).map((r) => [r.id, r.durationMs]),
      [['inc', 4000]],
    );
    // A new incident may open now.
    assert.equal(await a.createIncident(record('inc-2')), true);
  });

  it('node history: last known keys by id or address, at a time, bucketed and bounded', async () => {
    const store = createIncidentStore(one, prefix, { historyLength: 3, historyBucketMs: 60_000 });
    const t0 = Date.parse('2026-01-01T03:00:00Z');
    await store.recordNodeStates('payments', [state(t0, 100)]);
    await store.recordNodeStates('payments', [state(t0 + 5_000, 150)]); // same stretch: the head is overwritten
    await store.recordNodeStates('payments', [state(t0 + 70_000, 1830)]); // next bucket
    assert.deepEqual(await one.llen(`${prefix}:medic:node-history:payments:${ID_A}`), 2);

    const latest = await lastKnownNodeState(two, prefix, 'payments', '10.0.0.32:6379');
    assert.equal(latest?.keys, 1830);
    assert.equal(latest?.at, t0 + 70_000);
    assert.deepEqual(latest?.slots, [[10923, 16383]]);
    assert.equal((await lastKnownNodeState(two, prefix, 'payments', ID_A, t0 + 10_000))?.keys, 150, 'as it was at 03:00:10');
    assert.equal(await lastKnownNodeState(two, prefix, 'payments', ID_A, t0 - 1), null, 'nothing known before the first poll');
    assert.equal(await lastKnownNodeState(two, prefix, 'payments', '10.0.0.99:6379'), null, 'never seen');

    // A change of slots starts a new entry at once; the list stays bounded.
    await store.recordNodeStates('payments', [state(t0 + 71_000, 1830, { slots: [] })]);
    await store.recordNodeStates('payments', [state(t0 + 72_000, 0, { slots: [[0, 1]] })]);
    assert.equal(await one.llen(`${prefix}:medic:node-history:payments:${ID_A}`), 3);
    assert.ok((await one.pttl(`${prefix}:medic:node-history:payments:${ID_A}`)) > 0, 'history expires');
  });

  it('known nodes survive only as a list of addresses', async () => {
    const store = createIncidentStore(one, prefix);
    assert.deepEqual(await store.knownNodes('payments'), []);
    await store.setKnownNodes('payments', ['10.0.0.31:6379', '10.0.0.32:6379']);
    assert.deepEqual(await createIncidentStore(two, prefix).knownNodes('payments'), ['10.0.0.31:6379', '10.0.0.32:6379']);
  });

  it('risk digest: one claim per interval, across processes', async () => {
    const a = createIncidentStore(one, prefix);
    const b = createIncidentStore(two, prefix);
    const claims = await Promise.all([a.claimRiskDigest('payments', 60_000), b.claimRiskDigest('payments', 60_000)]);
    assert.deepEqual(claims.sort(), [false, true]);
    assert.equal(await a.riskDigestPending('payments'), true);
    assert.equal(await a.riskDigestPending('cache'), false);
  });
});
