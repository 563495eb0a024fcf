import assert from 'node:assert/strict';
import { clusterScope } from '../../../src/cluster/scope';
import { validatePlan } from '../../../src/repair/validate';
import type { FixPlan } from '../../../src/repair/types';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
// The configured scope of a cluster seeded at 10.0.0.1 whose nodes live in 10.0.0.0/24, any port.
const allowed = clusterScope({ seeds: ['10.0.0.1:6379'], allowedNetworks: ['10.0.0.0/24'] });
const scope = { allowed, nodes: ['10.0.0.1:6379', '10.0.0.2:6379'], ids: [A, B] };

function plan(...steps: Array<[string, string[]]>): FixPlan {
  return {
    id: 'assign-000000000000',
    action: 'ASSIGN_UNCOVERED_SLOTS',
    title: 't',
    fixes: [],
    risk: 'low',
    dataLoss: { slots: [], lastKnownKeys: null, text: '' },
    preconditions: [],
    expected: '',
    executable: true,
    steps: steps.map(([node, command]) => ({ node, command })),
  };
}

describe('repair: validatePlan (allow-list before anything runs)', () => {
  it('accepts every command shape the planners produce', () => {
    const ok = plan(
      ['10.0.0.1:6379', ['CLUSTER', 'ADDSLOTSRANGE', '0', '10', '20', '30']],
      ['10.0.0.1:6379', ['CLUSTER', 'DELSLOTSRANGE', '0', '10']],
      ['10.0.0.1:6379', ['CLUSTER', 'BUMPEPOCH']],
      ['10.0.0.1:6379', ['CLUSTER', 'FAILOVER', 'TAKEOVER']],
      ['10.0.0.1:6379', ['CLUSTER', 'FAILOVER', 'FORCE']],
      ['10.0.0.1:6379', ['CLUSTER', 'SETSLOT', '100', 'STABLE']],
      ['10.0.0.1:6379', ['CLUSTER', 'SETSLOT', '100', 'NODE', B]],
      ['10.0.0.1:6379', ['CLUSTER', 'FORGET', B]],
      ['10.0.0.1:6379', ['CLUSTER', 'REPLICATE', B]],
      ['10.0.0.1:6379', ['CLUSTER', 'MEET', '10.0.0.2', '6379', '16379']],
      ['localhost:6379', ['CONFIG', 'SET', 'cluster-require-full-coverage', 'no']],
    );
    assert.deepEqual(
      validatePlan(ok, {
        ...scope,
        allowed: clusterScope({ seeds: ['10.0.0.1:6379', 'localhost:6379'], allowedNetworks: ['10.0.0.0/24', 'localhost'] }),
        nodes: [...scope.nodes, '127.0.0.1:6379'],
      }),
      [],
    );
  });

  for (const command of [
    ['FLUSHALL'],
    ['flushdb', 'ASYNC'],
    ['CLUSTER', 'RESET', 'HARD'],
    ['SHUTDOWN', 'NOSAVE'],
    ['DEBUG', 'SEGFAULT'],
    ['CONFIG', 'SET', 'requirepass', 'x'],
    ['CLUSTER', 'FLUSHSLOTS'],
    ['CLUSTER', 'FAILOVER'],
    ['DEL', 'k'],
  ]) {
    it(`refuses ${command.join(' ')}`, () => {
      const problems = validatePlan(plan(['10.0.0.1:6379', command]), scope);
      assert.equal(problems.length, 1, problems.join('\n'));
    });
  }

  it('refuses a node outside the diagnosed cluster, and a MEET towards one', () => {
    assert.match(validatePlan(plan(['10.0.0.9:6379', ['CLUSTER', 'BUMPEPOCH']]), scope)[0]!, /10.0.0.9:6379 is not a node of this cluster/);
    assert.match(
      validatePlan(plan(['10.0.0.1:6379', ['CLUSTER', 'MEET', '10.0.0.9', '6379']]), scope)[0]!,
      /MEET 10.0.0.9:6379 is not a node/,
    );
  });

  it('refuses ids the diagnosis does not know, and slots out of range', () => {
    assert.equal(validatePlan(plan(['10.0.0.1:6379', ['CLUSTER', 'FORGET', 'c'.repeat(40)]]), scope).length, 1);
    assert.equal(validatePlan(plan(['10.0.0.1:6379', ['CLUSTER', 'ADDSLOTSRANGE', '0', '16384']]), scope).length, 1);
    assert.equal(validatePlan(plan(['10.0.0.1:6379', ['CLUSTER', 'ADDSLOTSRANGE', '0']]), scope).length, 1);
  });

  it("refuses a MEET whose bus port points elsewhere: only the node's port + 10000 or an allowed port of its host (issue 11)", () => {
    const narrow = {
      ...scope,
      allowed: clusterScope({ seeds: ['10.0.0.1:6379'], allowedNetworks: ['10.0.0.0/24:6379-6380'], neverContact: ['10.0.0.2:6380'] }),
    };
    const meet = (bus: string) => plan(['10.0.0.1:6379', ['CLUSTER', 'MEET', '10.0.0.2', '6379', bus]]);
    assert.deepEqual(validatePlan(meet('16379'), narrow), [], 'the Redis convention');
    assert.match(validatePlan(meet('22'), narrow)[0] ?? '', /MEET bus port 22 of 10\.0\.0\.2:6379 is outside the addresses allowed/);
    assert.equal(validatePlan(meet('6380'), narrow).length, 1, 'the queue Redis as a bus port');
    assert.equal(validatePlan(meet('16380'), narrow).length, 1);
  });

  // Issue 11: the executor's scope came from the diagnosis, so a node the cluster merely listed
  // (an unrelated Redis at an announced address) could be MEETed. The config now decides.
  it('refuses a step, a MEET, a wait or a check outside the configured scope, even when the diagnosis lists that node', () => {
    const listed = {
      ...scope,
      nodes: [...scope.nodes, '192.168.5.5:6379'],
      allowed: clusterScope({ seeds: ['10.0.0.1:6379'], allowedNetworks: ['10.0.0.0/24'] }),
    };
    const meet = validatePlan(plan(['10.0.0.1:6379', ['CLUSTER', 'MEET', '192.168.5.5', '6379', '16379']]), listed);
    assert.equal(meet.length, 1, meet.join('\n'));
    assert.match(
      meet[0]!,
      /MEET 192\.168\.5\.5:6379 is outside the addresses allowed for this cluster \(the seeds and spare nodes plus allowedNetworks 10\.0\.0\.0\/24\)/,
    );
    assert.match(
      validatePlan(plan(['192.168.5.5:6379', ['CLUSTER', 'BUMPEPOCH']]), listed)[0]!,
      /192\.168\.5\.5:6379 is outside the addresses allowed/,
    );
    const waits: FixPlan = {
      ...plan(['10.0.0.1:6379', ['CLUSTER', 'BUMPEPOCH']]),
      checks: [{ kind: 'blank-node', node: '192.168.5.5:6379' }],
    };
    waits.steps[0]!.waitFor = { node: '192.168.5.5:6379', knowsIds: [A] };
    assert.equal(validatePlan(waits, listed).length, 2);
    // A port range narrows a host the diagnosis knows: 10.0.0.2:6380 is refused, 6379 is fine.
    const ported = {
      ...scope,
      nodes: [...scope.nodes, '10.0.0.2:6380'],
      allowed: clusterScope({ seeds: ['10.0.0.1:6379'], allowedNetworks: ['10.0.0.0/24:6379'] }),
    };
    assert.deepEqual(validatePlan(plan(['10.0.0.1:6379', ['CLUSTER', 'MEET', '10.0.0.2', '6379']]), ported), []);
    assert.equal(validatePlan(plan(['10.0.0.1:6379', ['CLUSTER', 'MEET', '10.0.0.2', '6380']]), ported).length, 1);
  });
});

describe('repair: validatePlan and MIGRATE (only as the key move of an open slot)', () => {
  const move = { slot: 100, to: B, batch: 100 };
  const step = (command: string[], moveKeys: typeof move | null = move): FixPlan => ({
    ...plan(),
    steps: [{ node: '10.0.0.1:6379', command, ...(moveKeys ? { moveKeys } : {}) }],
  });

  it('accepts MIGRATE host port "" 0 <timeout> [REPLACE] KEYS towards another node of the cluster, and SETSLOT IMPORTING', () => {
    assert.deepEqual(validatePlan(step(['MIGRATE', '10.0.0.2', '6379', '', '0', '5000', 'KEYS']), scope), []);
    assert.deepEqual(validatePlan(step(['MIGRATE', '10.0.0.2', '6379', '', '0', '5000', 'REPLACE', 'KEYS']), scope), []);
    assert.deepEqual(validatePlan(plan(['10.0.0.2:6379', ['CLUSTER', 'SETSLOT', '100', 'IMPORTING', A]]), scope), []);
  });

  const refused: Array<[string, string[], typeof move | null]> = [
    ['without a declared key move', ['MIGRATE', '10.0.0.2', '6379', '', '0', '5000', 'KEYS'], null],
    ['with key names in the plan', ['MIGRATE', '10.0.0.2', '6379', '', '0', '5000', 'KEYS', 'k1'], move],
    ['with a single key', ['MIGRATE', '10.0.0.2', '6379', 'k1', '0', '5000'], move],
    ['with COPY (keys would stay on both nodes)', ['MIGRATE', '10.0.0.2', '6379', '', '0', '5000', 'COPY', 'KEYS'], move],
    ['with AUTH in the plan', ['MIGRATE', '10.0.0.2', '6379', '', '0', '5000', 'AUTH', 'secret', 'KEYS'], move],
    ['to another database', ['MIGRATE', '10.0.0.2', '6379', '', '3', '5000', 'KEYS'], move],
    ['to a host outside the cluster', ['MIGRATE', '10.9.9.9', '6379', '', '0', '5000', 'KEYS'], move],
    ['to itself', ['MIGRATE', '10.0.0.1', '6379', '', '0', '5000', 'KEYS'], move],
    ['with an unknown receiver id', ['MIGRATE', '10.0.0.2', '6379', '', '0', '5000', 'KEYS'], { ...move, to: 'c'.repeat(40) }],
    ['with a huge batch', ['MIGRATE', '10.0.0.2', '6379', '', '0', '5000', 'KEYS'], { ...move, batch: 100_000 }],
    ['with no timeout', ['MIGRATE', '10.0.0.2', '6379', '', '0', '0', 'KEYS'], move],
    ['as another command under a key move', ['FLUSHALL'], move],
  ];
  for (const [what, command, moveKeys] of refused) {
    it(`refuses a MIGRATE ${what}`, () => {
      assert.equal(validatePlan(step(command, moveKeys), scope).length, 1, command.join(' '));
    });
  }
});
