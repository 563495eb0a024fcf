import assert from 'node:assert/strict';
import { basisChanges, stepChanges } from '../../../src/repair/changes';
import type { FixPlan, NodeBasis } from '../../../src/repair/types';
import type { NodeReport } from '../../../src/diagnosis/types';

const A = 'a'.repeat(40);
const basis = (over: Partial<NodeBasis> = {}): NodeBasis => ({
  id: A,
  addr: '10.0.0.3:6379',
  role: 'master',
  masterId: null,
  presence: 'down',
  slots: [[10923, 16383]],
  migrating: [],
  importing: [],
  ...over,
});
const node = (over: Partial<NodeReport> = {}): NodeReport => ({
  id: A,
  addr: '10.0.0.3:6379',
  host: '10.0.0.3',
  port: 6379,
  busPort: 16379,
  role: 'master',
  masterId: null,
  flags: ['master'],
  reachable: false,
  clusterState: null,
  health: 'down',
  slots: [[10923, 16383]],
  epoch: 3,
  link: 'disconnected',
  keys: null,
  migrating: [],
  importing: [],
  ...over,
});
const plan = (nodes: NodeBasis[]): Pick<FixPlan, 'basis'> => ({ basis: { nodes, extra: null } });

describe('repair/changes: which precondition of an approved plan no longer holds', () => {
  it('nothing, when only flags and epochs moved (fail? -> fail, an epoch bump)', () => {
    assert.deepEqual(basisChanges(plan([basis()]), { nodes: [node({ flags: ['master', 'fail'], epoch: 9 })] }), []);
  });

  it('a dead master that answers again', () => {
    assert.deepEqual(basisChanges(plan([basis()]), { nodes: [node({ reachable: true, health: 'up', link: 'connected' })] }), [
      '10.0.0.3:6379 (aaaaaaaa) answers again (it was down when the plan was made)',
    ]);
  });

  it('slots moved, a role changed, a node forgotten', () => {
    assert.deepEqual(basisChanges(plan([basis()]), { nodes: [node({ slots: [] })] }), [
      '10.0.0.3:6379 (aaaaaaaa) serves no slots now (it served 10923-16383)',
    ]);
    assert.match(
      basisChanges(plan([basis()]), { nodes: [node({ role: 'replica', masterId: 'b'.repeat(40) })] })[0]!,
      /is a replica of bbbbbbbb now \(it was a master\)/,
    );
    assert.deepEqual(basisChanges(plan([basis()]), { nodes: [] }), ['10.0.0.3:6379 (aaaaaaaa) is no longer listed by any node']);
  });

  it('the same basis with other steps: names the differing step and the plan to approve instead', () => {
    const approved = {
      action: 'ASSIGN_UNCOVERED_SLOTS' as const,
      steps: [{ node: '10.0.0.1:6379', command: ['CLUSTER', 'ADDSLOTSRANGE', '10923', '16383'] }],
      basis: { nodes: [], extra: null },
    };
    const offered = [
      {
        ...approved,
        id: 'assign-111111111111',
        steps: [{ node: '10.0.0.2:6379', command: ['CLUSTER', 'ADDSLOTSRANGE', '10923', '16383'] }],
      } as unknown as FixPlan,
    ];
    assert.match(
      stepChanges(approved, offered)[0]!,
      /^its steps differ now \(no longer `10\.0\.0\.1:6379> CLUSTER ADDSLOTSRANGE 10923 16383`, now `10\.0\.0\.2:6379> .*`\): approve assign-111111111111 instead$/,
    );
    assert.deepEqual(stepChanges(approved, []), ['the current diagnosis offers no plan of this kind any more']);
  });
});
