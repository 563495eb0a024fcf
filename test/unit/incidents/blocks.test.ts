import assert from 'node:assert/strict';
import type { ClusterSnapshot, NodeProbe } from '../../../src/cluster/types';
import { diagnose } from '../../../src/diagnosis/diagnose';
import type { Finding } from '../../../src/diagnosis/types';
import {
  escape,
  formatDuration,
  incidentHeadline,
  INCIDENT_EVENT,
  openIncidentMessage,
  recoveringIncidentMessage,
  resolvedIncidentMessage,
  resolvedThreadReply,
  riskMessage,
  RISK_EVENT,
} from '../../../src/slack/blocks/incident';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

function report() {
  const nodes = (me: string): string =>
    [
      `${A} 10.0.0.31:6379@16379 ${me === A ? 'myself,' : ''}master - 0 0 1 connected 0-5460`,
      `${B} 10.0.0.32:6379@16379 ${me === B ? 'myself,' : ''}master - 0 0 2 connected 5461-10922`,
      `${C} 10.0.0.33:6379@16379 master,fail - 0 0 3 disconnected 10923-16383`,
    ].join('\n');
  const info = 'cluster_state:fail\ncluster_slots_assigned:16384\ncluster_slots_ok:10923\ncluster_slots_pfail:0\ncluster_slots_fail:5461';
  const probe = (addr: string, me: string): NodeProbe => ({
    addr,
    status: 'ok',
    durationMs: 1,
    replies: { clusterNodes: nodes(me), clusterInfo: info },
  });
  const snapshot: ClusterSnapshot = {
    cluster: 'payments',
    seeds: [],
    takenAt: '2026-01-01T03:21:00.000Z',
    durationMs: 1,
    probes: [
      probe('10.0.0.31:6379', A),
      probe('10.0.0.32:6379', B),
      { addr: '10.0.0.33:6379', status: 'unreachable', error: 'refused', durationMs: 1 },
    ],
  };
  return diagnose(snapshot);
}

const texts = (blocks: unknown[]): string => JSON.stringify(blocks);

describe('incidents/blocks', () => {
  it('headline: the issue example, word for word', () => {
    assert.equal(
      incidentHeadline('payments', report()),
      ':red_circle: payments is DOWN — Master 10.0.0.33:6379 is down and has no replica — 5461 slots not served (10923-16383)',
    );
  });

  it('headline: degraded names the cause without slots', () => {
    const r = { ...report(), verdict: 'degraded' as const };
    assert.match(incidentHeadline('payments', r), /^:large_orange_circle: payments is DEGRADED — Master 10\.0\.0\.33:6379/);
  });

  it('headline: many ranges are cut short', () => {
    const r = report();
    r.coverage.uncovered = [
      [1, 1],
      [3, 3],
      [5, 5],
      [7, 7],
      [9, 9],
      [11, 11],
    ];
    assert.match(incidentHeadline('payments', r), /6 slots not served \(1, 3, 5, 7, …\)$/);
  });

  it('open root message: headline, who is down, incident id, and machine-readable metadata', () => {
    const m = openIncidentMessage({
      cluster: 'payments',
      incidentId: 'payments-x',
      openedAt: 0,
      detectedBy: 'alertmanager: <b>boom</b>',
      report: report(),
      updatedAt: 1000,
    });
    assert.match(m.text, /^:red_circle: payments is DOWN/);
    assert.match(texts(m.blocks), /\*Down:\* 10\.0\.0\.33:6379/);
    assert.match(texts(m.blocks), /Incident payments-x/);
    assert.match(texts(m.blocks), /alertmanager: &lt;b&gt;boom&lt;\/b&gt;/, 'text from alerts is escaped');
    assert.deepEqual(m.metadata, {
      event_type: INCIDENT_EVENT,
      event_payload: { cluster: 'payments', incident_id: 'payments-x', state: 'open', opened_at: 0, flaps: 0 },
    });
  });

  it('resolved: duration, cause, and the fix with its approver', () => {
    const input = {
      cluster: 'payments',
      incidentId: 'payments-x',
      openedAt: 0,
      resolvedAt: 252_000,
      cause: 'Master 10.0.0.33:6379 is down and has no replica',
      fix: { title: 'Reassign slots 10923-16383', status: 'repaired', by: 'U0BOSS', at: '' },
      resolveAfterPolls: 3,
    };
    const m = resolvedIncidentMessage(input);
    assert.match(
      m.text,
      /^:large_green_circle: payments: Resolved after 4m 12s\. Cause: Master 10\.0\.0\.33:6379 is down and has no replica\. Fix: Reassign slots 10923-16383 \(repaired, approved by U0BOSS\)$/,
    );
    assert.match(texts(m.blocks), /approved by <@U0BOSS>/);
    assert.equal(m.metadata.event_payload.state, 'resolved');
    assert.match(resolvedThreadReply(input).text, /Resolved after 4m 12s: every node has said cluster_state:ok for 3 polls in a row/);
  });

  it('resolved without a repair says so', () => {
    const m = resolvedIncidentMessage({
      cluster: 'payments',
      incidentId: 'i',
      openedAt: 0,
      resolvedAt: 5000,
      cause: null,
      fix: null,
      resolveAfterPolls: 3,
    });
    assert.match(m.text, /Resolved after 5s\. Cause: not identified\. Fix: none by redis-medic/);
  });

  it('recovering: says how many healthy polls it waits for', () => {
    const m = recoveringIncidentMessage({
      cluster: 'payments',
      incidentId: 'i',
      openedAt: 0,
      cause: 'x',
      resolveAfterPolls: 3,
      since: 1000,
    });
    assert.match(m.text, /^:large_yellow_circle: payments looks healthy again — resolving after 3 healthy polls in a row$/);
    assert.equal(m.metadata.event_payload.state, 'recovering');
  });

  it('risk message: every risk with its detail, not an outage, bounded size', () => {
    const risk = (i: number): Finding => ({
      code: 'MASTER_WITHOUT_REPLICA',
      severity: 'warning',
      category: 'risk',
      title: `risk ${i}`,
      detail: 'x'.repeat(5000),
      evidence: [],
      nodes: [],
      slots: [],
    });
    const m = riskMessage({ cluster: 'payments', risks: Array.from({ length: 12 }, (_, i) => risk(i)), digestMs: 24 * 3600_000, at: 0 });
    assert.match(m.text, /^:warning: payments: 12 risks to address \(not an outage\)/);
    assert.equal(m.metadata.event_type, RISK_EVENT);
    assert.match(texts(m.blocks), /…and 2 more/);
    assert.match(texts(m.blocks), /posted at most once every 1d 0h/);
    for (const block of m.blocks) {
      const text = block.type === 'section' ? (block.text?.text ?? '') : '';
      assert.ok(text.length <= 3000, 'Slack refuses sections over 3000 characters');
    }
  });

  it('formatDuration', () => {
    assert.deepEqual([0, 999, 42_000, 252_000, 3_780_000, 2 * 86_400_000 + 4 * 3_600_000].map(formatDuration), [
      '0s',
      '1s',
      '42s',
      '4m 12s',
      '1h 3m',
      '2d 4h',
    ]);
  });

  it('escape: only Slack control characters', () => {
    assert.equal(escape('a & <b> *c*'), 'a &amp; &lt;b&gt; *c*');
  });
});
