import assert from 'node:assert/strict';
import type { AuditRecord } from '../../../src/audit/audit-log';
import type { ClusterSnapshot, NodeProbe } from '../../../src/cluster/types';
import { diagnose } from '../../../src/diagnosis/diagnose';
import {
  assessLightProbe,
  causeOf,
  findingsSignature,
  fixUsed,
  isIncident,
  knownAddresses,
  noAnswerReport,
  nodeStates,
  riskFindings,
  riskSignature,
} from '../../../src/incidents/assess';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const G = 'e'.repeat(40);
const SEEDS = ['10.0.0.31:6379'];

function line(id: string, port: number, flags: string, slots: string, master = '-', link = 'connected'): string {
  return `${id} 10.0.0.${port - 6348}:6379@16379 ${flags} ${master} 0 1700000000000 1 ${link} ${slots}`.trim();
}

// Three masters on 10.0.0.31-33; `down` makes the third one dead as the others see it.
function views(opts: { third?: 'up' | 'pfail' | 'fail'; state?: 'ok' | 'fail'; extra?: string } = {}): {
  nodes: (me: string) => string;
  info: string;
} {
  const third = opts.third ?? 'up';
  const flags = third === 'up' ? 'master' : third === 'pfail' ? 'master,fail?' : 'master,fail';
  const nodes = (me: string): string =>
    [
      line(A, 6379, me === A ? 'myself,master' : 'master', '0-5460'),
      line(B, 6380, me === B ? 'myself,master' : 'master', '5461-10922'),
      line(C, 6381, me === C ? 'myself,master' : flags, '10923-16383', '-', third === 'up' ? 'connected' : 'disconnected'),
      ...(opts.extra ? [opts.extra] : []),
    ].join('\n');
  const state = opts.state ?? (third === 'fail' ? 'fail' : 'ok');
  const info = [
    `cluster_state:${state}`,
    'cluster_slots_assigned:16384',
    `cluster_slots_ok:${third === 'up' ? 16384 : 10923}`,
    `cluster_slots_pfail:${third === 'pfail' ? 5461 : 0}`,
    `cluster_slots_fail:${third === 'fail' ? 5461 : 0}`,
    'cluster_known_nodes:3',
    'cluster_size:3',
  ].join('\n');
  return { nodes, info };
}

function ok(addr: string, clusterNodes: string, clusterInfo: string, dbsize?: number): NodeProbe {
  return { addr, status: 'ok', durationMs: 1, replies: { clusterNodes, clusterInfo, ...(dbsize !== undefined ? { dbsize } : {}) } };
}

function down(addr: string, error = 'connection refused (ECONNREFUSED): nothing listens on that port'): NodeProbe {
  return { addr, status: 'unreachable', error, failure: /ECONNREFUSED/.test(error) ? 'refused' : 'connect-timeout', durationMs: 1 };
}

function snapshot(probes: NodeProbe[]): ClusterSnapshot {
  return { cluster: 'payments', seeds: SEEDS, takenAt: new Date(0).toISOString(), durationMs: 1, probes };
}

function healthy(): ClusterSnapshot {
  const v = views();
  return snapshot([
    ok('10.0.0.31:6379', v.nodes(A), v.info, 100),
    ok('10.0.0.32:6379', v.nodes(B), v.info, 200),
    ok('10.0.0.33:6379', v.nodes(C), v.info, 300),
  ]);
}

describe('incidents/assess: light probe verdict', () => {
  it('a healthy cluster is not off', () => {
    assert.deepEqual(assessLightProbe(healthy()), { off: false, reasons: [] });
  });

  it('a master that does not answer is off at once, before the cluster flags it', () => {
    const v = views();
    const result = assessLightProbe(
      snapshot([ok('10.0.0.31:6379', v.nodes(A), v.info), ok('10.0.0.32:6379', v.nodes(B), v.info), down('10.0.0.33:6379')]),
    );
    assert.equal(result.off, true);
    assert.match(result.reasons.join('\n'), /10\.0\.0\.33:6379 does not answer: connection refused/);
  });

  it('cluster_state:fail, fail slots and a failed master each say why', () => {
    const v = views({ third: 'fail' });
    const result = assessLightProbe(
      snapshot([ok('10.0.0.31:6379', v.nodes(A), v.info), ok('10.0.0.32:6379', v.nodes(B), v.info), down('10.0.0.33:6379')]),
    );
    const text = result.reasons.join('\n');
    assert.match(text, /10\.0\.0\.31:6379 says cluster_state:fail/);
    assert.match(text, /counts 0 pfail and 5461 fail slots/);
    assert.match(text, /10\.0\.0\.33:6379 \(cccccccc\) is flagged fail by 10\.0\.0\.31:6379/);
    // One reason per flagged node, not one per viewer.
    assert.equal(text.match(/is flagged/g)?.length, 1);
  });

  it('a master flagged fail? is off even while every node still says ok', () => {
    const v = views({ third: 'pfail', state: 'ok' });
    const result = assessLightProbe(
      snapshot([
        ok('10.0.0.31:6379', v.nodes(A), v.info),
        ok('10.0.0.32:6379', v.nodes(B), v.info),
        ok('10.0.0.33:6379', v.nodes(C), v.info),
      ]),
    );
    assert.equal(result.off, true);
    assert.match(result.reasons.join('\n'), /flagged fail\?/);
  });

  it('an unanswered address the cluster no longer lists (forgotten, or a MEET in handshake) is not an outage', () => {
    const handshake = `${G} 10.0.0.99:6379@16379 handshake - 0 0 0 connected`;
    const v = views({ extra: handshake });
    const base = healthy().probes;
    const probes = [ok('10.0.0.31:6379', v.nodes(A), v.info), ...base.slice(1), down('10.0.0.99:6379'), down('10.0.0.77:6379')];
    assert.deepEqual(assessLightProbe(snapshot(probes)), { off: false, reasons: [] });
  });

  it('a dead configured seed that no member lists is drift, not an outage (the full check reports it as a risk)', () => {
    const result = assessLightProbe(snapshot([...healthy().probes, down('10.0.0.40:6379')]));
    assert.deepEqual(result, { off: false, reasons: [] });
  });

  it('no answer at all is off, naming every address', () => {
    const result = assessLightProbe(snapshot([down('10.0.0.31:6379'), down('10.0.0.32:6379', 'connect timed out after 500 ms')]));
    assert.equal(result.off, true);
    assert.match(result.reasons[0]!, /no node answered .*10\.0\.0\.31:6379.*10\.0\.0\.32:6379: connect timed out/);
  });

  it('an unreadable reply is off (the full diagnosis says what it is)', () => {
    const result = assessLightProbe(snapshot([ok('10.0.0.31:6379', 'garbage', 'cluster_state:ok')]));
    assert.equal(result.off, true);
    assert.match(result.reasons[0]!, /unreadable reply/);
  });

  it('an answer dropped by a read cap is off (the full diagnosis reports READ_CAP_HIT)', () => {
    const probes = healthy().probes;
    probes[2] = {
      addr: '10.0.0.33:6379',
      status: 'discarded',
      failure: 'reply-too-large',
      error: 'answered more than 2,097,152 bytes (collection.maxReplyBytes; stopped reading at 2,162,688): its answer is not used',
      durationMs: 1,
    };
    const result = assessLightProbe(snapshot(probes));
    assert.equal(result.off, true);
    assert.deepEqual(result.reasons, [
      '10.0.0.33:6379 answered more than 2,097,152 bytes (collection.maxReplyBytes; stopped reading at 2,162,688): its answer is not used',
    ]);
  });
});

describe('incidents/assess: what each poll records', () => {
  it('known addresses: members listed anywhere plus who answered, not handshakes', () => {
    const v = views({ extra: `${G} 10.0.0.99:6379@16379 handshake - 0 0 0 connected` });
    assert.deepEqual(knownAddresses(snapshot([ok('10.0.0.31:6379', v.nodes(A), v.info), down('10.0.0.33:6379')])), [
      '10.0.0.31:6379',
      '10.0.0.32:6379',
      '10.0.0.33:6379',
    ]);
  });

  it('node states: own slots, role and DBSIZE of each node that answered', () => {
    const states = nodeStates(healthy(), 1234);
    assert.deepEqual(
      states.map((s) => [s.id.slice(0, 1), s.addr, s.role, s.slots, s.keys, s.at]),
      [
        ['a', '10.0.0.31:6379', 'master', [[0, 5460]], 100, 1234],
        ['b', '10.0.0.32:6379', 'master', [[5461, 10922]], 200, 1234],
        ['c', '10.0.0.33:6379', 'master', [[10923, 16383]], 300, 1234],
      ],
    );
  });
});

describe('incidents/assess: signatures and causes', () => {
  function brokenReport(third: 'pfail' | 'fail') {
    const v = views({ third });
    return diagnose(snapshot([ok('10.0.0.31:6379', v.nodes(A), v.info), ok('10.0.0.32:6379', v.nodes(B), v.info), down('10.0.0.33:6379')]));
  }

  it('a master down without replica is an incident, with that as its cause', () => {
    const report = brokenReport('fail');
    assert.equal(isIncident(report), true);
    assert.deepEqual(causeOf(report), { code: 'MASTER_DOWN_NO_REPLICA', title: 'Master 10.0.0.33:6379 is down and has no replica' });
  });

  it('the findings signature ignores how far the failure has spread (fail? then fail): same thread, no new reply', () => {
    assert.equal(findingsSignature(brokenReport('pfail')), findingsSignature(brokenReport('fail')));
  });

  it('the signature changes when another node goes down', () => {
    const v = views({ third: 'fail' });
    const twoDown = diagnose(snapshot([ok('10.0.0.31:6379', v.nodes(A), v.info), down('10.0.0.32:6379'), down('10.0.0.33:6379')]));
    assert.notEqual(findingsSignature(twoDown), findingsSignature(brokenReport('fail')));
  });

  it('risks alone are never an incident', () => {
    const report = diagnose(healthy());
    assert.equal(isIncident(report), false);
    assert.deepEqual(
      riskFindings(report).map((f) => f.code),
      ['MASTER_WITHOUT_REPLICA'],
    );
    assert.equal(findingsSignature(report), '');
    assert.match(riskSignature(riskFindings(report)), /^MASTER_WITHOUT_REPLICA\|3 masters without a replica\|/);
  });

  it('nobody answering is described as that, not as "slots never assigned"', () => {
    const report = noAnswerReport(snapshot([down('10.0.0.31:6379'), down('10.0.0.32:6379', 'connect timed out after 500 ms')]));
    assert.equal(report.verdict, 'down');
    assert.equal(isIncident(report), true);
    assert.deepEqual(causeOf(report), { code: 'NODE_UNREACHABLE', title: 'No node of payments answered' });
    assert.match(report.findings[0]!.detail, /10\.0\.0\.32:6379: connect timed out after 500 ms/);
  });
});

describe('incidents/assess: the fix used', () => {
  const opened = Date.parse('2026-01-01T03:00:00Z');
  const rec = (at: string, action: AuditRecord['action'], details: Record<string, unknown>, cluster = 'payments'): AuditRecord => ({
    id: `${Date.parse(at)}-0`,
    at,
    action,
    cluster,
    actor: 'U0APPROVER',
    details,
  });

  it('the last successful repair of this cluster since the incident opened', () => {
    const fix = fixUsed(
      [
        rec('2026-01-01T02:00:00Z', 'repair.finished', { status: 'repaired', title: 'old one' }),
        rec('2026-01-01T03:01:00Z', 'repair.finished', { status: 'failed', title: 'Promote replica' }),
        rec('2026-01-01T03:02:00Z', 'repair.finished', { status: 'repaired', title: 'Reassign slots 10923-16383', approvedBy: 'U0BOSS' }),
        rec('2026-01-01T03:03:00Z', 'repair.finished', { status: 'repaired', title: 'other cluster' }, 'cache'),
        rec('2026-01-01T03:04:00Z', 'repair.started', { title: 'not finished' }),
      ],
      'payments',
      opened,
    );
    assert.deepEqual(fix, { title: 'Reassign slots 10923-16383', status: 'repaired', by: 'U0BOSS', at: '2026-01-01T03:02:00Z' });
  });

  it('every successful repair since it opened, in order: slots given away, then the ghost forgotten', () => {
    const fix = fixUsed(
      [
        rec('2026-01-01T03:01:00Z', 'repair.finished', {
          status: 'repaired',
          title: 'Assign slots 10923-16383 to 10.0.0.31:6379',
          approvedBy: 'U0BOSS',
        }),
        rec('2026-01-01T03:01:30Z', 'repair.finished', { status: 'refused', title: 'Forget the ghost (stale plan)', approvedBy: 'U0BOSS' }),
        rec('2026-01-01T03:02:00Z', 'repair.finished', {
          status: 'repaired',
          title: 'Forget the ghost 10.0.0.32:6379',
          approvedBy: 'U0BOSS',
        }),
      ],
      'payments',
      opened,
    );
    assert.deepEqual(fix, {
      title: 'Assign slots 10923-16383 to 10.0.0.31:6379, then Forget the ghost 10.0.0.32:6379',
      status: 'repaired',
      by: 'U0BOSS',
      at: '2026-01-01T03:02:00Z',
    });
  });

  it('falls back to the action or plan id, and to a failed attempt', () => {
    assert.equal(
      fixUsed([rec('2026-01-01T03:01:00Z', 'repair.finished', { status: 'failed', planId: 'p-123' })], 'payments', opened)?.title,
      'p-123',
    );
  });

  it('none when the cluster recovered on its own', () => {
    assert.equal(fixUsed([], 'payments', opened), null);
  });
});
