import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parsePaste } from '../../../src/cluster/parse-paste';
import { analyseSnapshot } from '../../../src/engine';
import { isPlanId } from '../../../src/repair/fingerprint';
import { isHostPort, OFFLINE_NOTE, planFixes, stepNodes } from '../../../src/repair/plan';
import type { FixAction, FixPlan } from '../../../src/repair/types';
import { clusterScope } from '../../../src/cluster/scope';
import { validatePlan } from '../../../src/repair/validate';
import { allFixtures, editLines, loadFixture, nodesOf, reportOf } from './fixtures';

const commands = (plan: FixPlan): string[] => plan.steps.map((s) => `${s.node}> ${s.command.join(' ')}`);
const actions = (plans: FixPlan[]): FixAction[] => plans.map((p) => p.action);
const ids = (plans: FixPlan[]): string[] => plans.map((p) => p.id);

describe('repair: planFixes on snapshots captured from real clusters', () => {
  describe('a master without replica is dead (connection refused), a spare is configured', () => {
    const fixture = loadFixture('master-down-no-replica');
    const nodes = nodesOf(fixture);
    const dead = nodes.find((n) => n.flags.includes('fail'))!;
    const live = nodes.filter((n) => n !== dead);

    it('lists the restart advice first, not executable, then reassignments', () => {
      const plans = reportOf(fixture).fixes;
      assert.deepEqual(actions(plans), [
        'RESTART_NODE',
        'ASSIGN_UNCOVERED_SLOTS',
        'ASSIGN_UNCOVERED_SLOTS',
        'ALLOW_PARTIAL_COVERAGE',
        'ADD_REPLICA',
      ]);
      assert.equal(plans[0]!.executable, false);
      assert.deepEqual(plans[0]!.steps, []);
      assert.match(plans[0]!.title, new RegExp(`^Restart redis-server on ${dead.addr} with its data dir; it keeps its id and slots`));
    });

    it('gives the slots to the live master with the fewest slots: DELSLOTSRANGE where its view has an owner, ADDSLOTSRANGE, BUMPEPOCH', () => {
      const plan = reportOf(fixture).fixes[1]!;
      const target = [...live].sort((a, b) => count(a.slots) - count(b.slots) || a.addr.localeCompare(b.addr))[0]!;
      assert.deepEqual(commands(plan), [
        `${target.addr}> CLUSTER DELSLOTSRANGE 0 5460`,
        `${target.addr}> CLUSTER ADDSLOTSRANGE 0 5460`,
        `${target.addr}> CLUSTER BUMPEPOCH`,
      ]);
      assert.equal(plan.risk, 'high');
      assert.deepEqual(plan.dataLoss.slots, [[0, 5460]]);
      assert.match(plan.dataLoss.text, /are gone/);
      assert.deepEqual(plan.verify, { clusterOk: true });
    });

    it('or to the spare: it meets the cluster, waits until it knows every live node and the epoch, then claims them', () => {
      const plan = reportOf(fixture).fixes[2]!;
      const spare = fixture.spareNodes[0]!;
      const [meet, add, bump] = plan.steps;
      assert.equal(meet!.node, spare);
      assert.deepEqual(meet!.command.slice(0, 2), ['CLUSTER', 'MEET']);
      const contact = live.find((n) => `${meet!.command[2]}:${meet!.command[3]}` === n.addr)!;
      assert.equal(meet!.command[4], String(contact.busPort), 'the bus port is given: it is not port+10000 here');
      assert.deepEqual(new Set(meet!.waitFor!.knowsIds), new Set(live.map((n) => n.id)));
      assert.equal(
        meet!.waitFor!.currentEpochAtLeast,
        Math.max(...nodes.map((n) => n.epoch)),
        'a claim made with an older epoch would lose',
      );
      assert.deepEqual(add!.command, ['CLUSTER', 'ADDSLOTSRANGE', '0', '5460']);
      assert.deepEqual(bump!.command, ['CLUSTER', 'BUMPEPOCH']);
      assert.deepEqual(plan.checks, [{ kind: 'blank-node', node: spare }]);
      assert.deepEqual(plan.verify?.extraNodes, [spare]);
    });

    it('offers the partial-coverage escape hatch as high risk, on every live node', () => {
      const plan = reportOf(fixture).fixes.find((p) => p.action === 'ALLOW_PARTIAL_COVERAGE')!;
      assert.equal(plan.risk, 'high');
      assert.deepEqual(plan.steps.map((s) => s.node).sort(), live.map((n) => n.addr).sort());
      assert.ok(plan.steps.every((s) => s.command.join(' ') === 'CONFIG SET cluster-require-full-coverage no'));
      assert.match(plan.preconditions.join(' '), /Temporary/);
    });

    it('without spares configured, offers no spare plan and no new replica', () => {
      assert.deepEqual(actions(reportOf(fixture, []).fixes), ['RESTART_NODE', 'ASSIGN_UNCOVERED_SLOTS', 'ALLOW_PARTIAL_COVERAGE']);
    });
  });

  describe('two of three masters dead, each with a replica: quorum lost', () => {
    const fixture = loadFixture('quorum-lost');
    const nodes = nodesOf(fixture);

    it('takes over without election on one replica of each dead master; no partial coverage (useless without quorum)', () => {
      const plans = reportOf(fixture).fixes;
      assert.deepEqual(actions(plans), ['RESTART_NODE', 'RESTART_NODE', 'PROMOTE_REPLICA']);
      const promote = plans[2]!;
      const dead = nodes.filter((n) => n.flags.includes('fail?') || n.flags.includes('fail'));
      assert.equal(dead.length, 2);
      const orphans = nodes.filter((n) => dead.some((d) => d.id === n.masterId));
      assert.deepEqual(promote.steps.map((s) => s.node).sort(), orphans.map((n) => n.addr).sort());
      assert.ok(promote.steps.every((s) => s.command.join(' ') === 'CLUSTER FAILOVER TAKEOVER'));
      assert.equal(promote.risk, 'high');
      assert.match(promote.dataLoss.text, /replication offset/);
    });
  });

  describe('a dead master whose replica cannot fail over by itself, majority alive', () => {
    it('forces the failover (an election still takes place)', () => {
      const plans = reportOf(loadFixture('replica-not-promoted')).fixes;
      const promote = plans.find((p) => p.action === 'PROMOTE_REPLICA')!;
      assert.deepEqual(
        promote.steps.map((s) => s.command.join(' ')),
        ['CLUSTER FAILOVER FORCE'],
      );
      assert.equal(promote.risk, 'medium');
      assert.equal(plans[0]!.action, 'RESTART_NODE');
    });
  });

  describe('slots 16000-16383 were never assigned', () => {
    it('adds them to a live master without DELSLOTSRANGE and without data loss', () => {
      const fixture = loadFixture('slots-never-assigned');
      const plan = reportOf(fixture).fixes[0]!;
      assert.equal(plan.action, 'ASSIGN_UNCOVERED_SLOTS');
      assert.deepEqual(
        plan.steps.map((s) => s.command.join(' ')),
        ['CLUSTER ADDSLOTSRANGE 16000 16383', 'CLUSTER BUMPEPOCH'],
      );
      assert.equal(plan.risk, 'low');
      assert.deepEqual(plan.dataLoss.slots, []);
    });
  });

  describe('an owner dropped slots 6000-6099 from its own view (DELSLOTSRANGE)', () => {
    it('gives them back to that same owner, whose keys are still there', () => {
      const fixture = loadFixture('slots-dropped-by-owner');
      const owner = nodesOf(fixture).find((n) => n.slots.some(([a]) => a === 5461))!;
      const plan = reportOf(fixture).fixes[0]!;
      assert.deepEqual(commands(plan), [`${owner.addr}> CLUSTER ADDSLOTSRANGE 6000 6099`, `${owner.addr}> CLUSTER BUMPEPOCH`]);
      assert.match(plan.title, /back to/);
      assert.deepEqual(plan.dataLoss.slots, []);
    });
  });

  describe('slot 100 is MIGRATING on its owner and IMPORTING on another master', () => {
    const fixture = loadFixture('open-slot');
    const nodes = nodesOf(fixture);
    const source = nodes.find((n) => n.slots.some(([a]) => a === 0))!;
    const target = nodes.find((n) => n.slots.some(([a]) => a === 5461))!;
    const other = nodes.find((n) => n !== source && n !== target)!;

    it("undo: STABLE on the source first (stops the ASK redirects), then the target; guarded by the target's key count", () => {
      const plan = reportOf(fixture).fixes[0]!;
      assert.deepEqual(commands(plan), [`${source.addr}> CLUSTER SETSLOT 100 STABLE`, `${target.addr}> CLUSTER SETSLOT 100 STABLE`]);
      assert.deepEqual(plan.checks, [{ kind: 'no-keys-in-slots', node: target.addr, slots: [100] }]);
      assert.deepEqual(plan.verify, { clusterOk: true, closedSlots: [100], slotOwners: [{ slot: 100, owner: source.id }] });
    });

    it("finish: SETSLOT NODE on the target, then the source, then the rest; guarded by the source's key count", () => {
      const plan = reportOf(fixture).fixes[1]!;
      assert.deepEqual(
        commands(plan),
        [target, source, other].map((n) => `${n.addr}> CLUSTER SETSLOT 100 NODE ${target.id}`),
      );
      assert.deepEqual(plan.checks, [{ kind: 'no-keys-in-slots', node: source.addr, slots: [100] }]);
    });
  });

  describe('a dead slot-less node (ghost)', () => {
    it('forgets it on every live node, all at once', () => {
      const fixture = loadFixture('ghost');
      const nodes = nodesOf(fixture);
      const ghost = nodes.find((n) => n.flags.includes('fail'))!;
      const plan = reportOf(fixture).fixes[0]!;
      assert.equal(plan.action, 'FORGET_GHOST_NODES');
      assert.equal(plan.concurrent, true);
      assert.deepEqual(
        commands(plan),
        nodes.filter((n) => n !== ghost).map((n) => `${n.addr}> CLUSTER FORGET ${ghost.id}`),
      );
      assert.deepEqual(plan.verify, { clusterOk: true, forgotten: [ghost.id] });
    });
  });

  describe('two masters forgot each other (split view)', () => {
    it('meets them again, with the bus port', () => {
      const fixture = loadFixture('split-view');
      const plan = reportOf(fixture).fixes.find((p) => p.action === 'MEET_NODES')!;
      assert.equal(plan.steps.length, 1);
      const [, , host, port, bus] = plan.steps[0]!.command;
      const met = nodesOf(fixture).find((n) => n.addr === `${host}:${port}`)!;
      assert.equal(bus, String(met.busPort));
      assert.deepEqual(plan.verify, { clusterOk: true, meshed: true });
    });
  });

  describe('a healthy cluster of masters without replicas, one spare', () => {
    it('offers one replica (prevention): MEET the master, wait until its id is known, REPLICATE', () => {
      const fixture = loadFixture('healthy-with-spare');
      const plans = reportOf(fixture).fixes;
      assert.deepEqual(actions(plans), ['ADD_REPLICA']);
      const plan = plans[0]!;
      const master = nodesOf(fixture).find((n) => plan.steps[1]!.command[2] === n.id)!;
      assert.deepEqual(
        plan.steps.map((s) => s.command.slice(0, 2).join(' ')),
        ['CLUSTER MEET', 'CLUSTER REPLICATE'],
      );
      assert.deepEqual(plan.steps[0]!.waitFor, { node: fixture.spareNodes[0], knowsIds: [master.id] });
      assert.deepEqual(plan.verify?.replicaOf, [{ node: fixture.spareNodes[0], masterId: master.id }]);
      assert.equal(plan.verify?.clusterOk, true, 'the cluster was up: the newcomer must say ok too');
      const down = reportOf(loadFixture('master-down-no-replica')).fixes.find((p) => p.action === 'ADD_REPLICA')!;
      assert.equal(down.verify?.clusterOk, false, 'with the cluster down, a replica verifies its own state only');
    });
  });

  describe('ids and safety, over every fixture', () => {
    const fixtures = allFixtures();

    it('ids are short, tagged and unique', () => {
      for (const fixture of fixtures) {
        const plans = reportOf(fixture).fixes;
        for (const plan of plans) assert.ok(isPlanId(plan.id), `${fixture.scenario}: ${plan.id}`);
        assert.equal(new Set(ids(plans)).size, plans.length);
      }
    });

    it('the same snapshot always gives the same ids', () => {
      for (const fixture of fixtures) assert.deepEqual(ids(reportOf(fixture).fixes), ids(reportOf(fixture).fixes), fixture.scenario);
    });

    it('ids ignore volatile fields: ping/pong times, replication offsets, key counts', () => {
      for (const fixture of fixtures) {
        const snapshot = editLines(fixture.snapshot, (f) => [
          f[0]!,
          f[1]!,
          f[2]!,
          f[3]!,
          String(Number(f[4]) + 7),
          String(Number(f[5]) + 12345),
          ...f.slice(6),
        ]);
        for (const probe of snapshot.probes) {
          if (!probe.replies) continue;
          if (probe.replies.dbsize !== undefined) probe.replies.dbsize += 42;
          probe.replies.infoReplication = probe.replies.infoReplication?.replace(
            /(repl_offset:)(\d+)/g,
            (_m, k: string, v: string) => `${k}${Number(v) + 1000}`,
          );
        }
        assert.deepEqual(ids(analyseSnapshot(snapshot, fixture.spareNodes).report.fixes), ids(reportOf(fixture).fixes), fixture.scenario);
      }
    });

    it('ids change when a precondition changes: a dead master seen alive by a peer, slots moved, a replica re-pointed', () => {
      const fixture = loadFixture('quorum-lost');
      const before = reportOf(fixture).fixes.find((p) => p.action === 'PROMOTE_REPLICA')!;
      const dead = nodesOf(fixture).find((n) => n.flags.includes('fail?'))!;
      const live = nodesOf(fixture).find((n) => n.flags.includes('master') && !n.flags.includes('fail?'))!;
      // Unreachable from here, yet its peers talk to it unflagged: maybe alive behind a partition.
      const cutOff = editLines(fixture.snapshot, (f) =>
        f[0] === dead.id ? [f[0]!, f[1]!, f[2]!.replace(',fail?', ''), ...f.slice(3, 7), 'connected', ...f.slice(8)] : f,
      );
      const slotsMoved = editLines(fixture.snapshot, (f) => (f[0] === dead.id ? [...f.slice(0, 8), '0-5000'] : f));
      const repointed = editLines(fixture.snapshot, (f) => (f[3] === dead.id ? [...f.slice(0, 3), live.id, ...f.slice(4)] : f));
      for (const [what, changed] of [
        ['cut off', cutOff],
        ['slots moved', slotsMoved],
        ['replica re-pointed', repointed],
      ] as const) {
        const after = analyseSnapshot(changed, fixture.spareNodes).report.fixes.find((p) => p.action === 'PROMOTE_REPLICA');
        assert.notEqual(after?.id, before.id, what);
      }
    });

    it('ids ignore gossip convergence: failure flags (none, fail?, fail), config epochs and link states', () => {
      for (const fixture of fixtures) {
        const before = ids(reportOf(fixture).fixes);
        const variants = {
          // A killed master is listed as plain `master ... disconnected` until node-timeout.
          unflagged: editLines(fixture.snapshot, (f) =>
            f[2]!.includes('fail') && f[7] === 'disconnected' ? [f[0]!, f[1]!, f[2]!.replace(/,fail\??/, ''), ...f.slice(3)] : f,
          ),
          confirmed: editLines(fixture.snapshot, (f) => [f[0]!, f[1]!, f[2]!.replace('fail?', 'fail'), ...f.slice(3)]),
          epochs: editLines(fixture.snapshot, (f) => [...f.slice(0, 6), String(Number(f[6]) + 10), ...f.slice(7)]),
          links: editLines(fixture.snapshot, (f) =>
            f[2]!.includes('myself') || f[2]!.includes('fail')
              ? f
              : [...f.slice(0, 7), f[7] === 'connected' ? 'disconnected' : f[7]!, ...f.slice(8)],
          ),
        };
        for (const [what, snapshot] of Object.entries(variants)) {
          const after = ids(analyseSnapshot(snapshot, fixture.spareNodes).report.fixes);
          // Only the plans that exist in both (a flag can change the findings themselves).
          const kept = after.filter((id) => before.some((b) => b.slice(0, b.indexOf('-')) === id.slice(0, id.indexOf('-'))));
          for (const id of kept) assert.ok(before.includes(id), `${fixture.scenario}, ${what}: ${id} not in ${before.join(', ')}`);
        }
      }
    });

    it("a plan carries its basis: each involved node's presence, role and slots", () => {
      const plan = reportOf(loadFixture('quorum-lost')).fixes.find((p) => p.action === 'PROMOTE_REPLICA')!;
      const dead = nodesOf(loadFixture('quorum-lost')).find((n) => n.flags.includes('fail?'))!;
      const basis = plan.basis!.nodes.find((n) => n.id === dead.id)!;
      assert.deepEqual(
        { presence: basis.presence, role: basis.role, slots: basis.slots },
        { presence: 'down', role: 'master', slots: dead.slots },
      );
    });

    it('every step targets a node of the diagnosed cluster or a configured spare, and passes validation', () => {
      for (const fixture of fixtures) {
        const report = reportOf(fixture);
        // The default scope of the fixture's seeds (a loopback cluster: 127.0.0.1, any port).
        const allowed = clusterScope({ seeds: fixture.snapshot.seeds, spareNodes: fixture.spareNodes });
        const scope = { allowed, nodes: [...report.nodes.map((n) => n.addr), ...fixture.spareNodes], ids: report.nodes.map((n) => n.id) };
        for (const plan of report.fixes) assert.deepEqual(validatePlan(plan, scope), [], `${fixture.scenario} ${plan.id}`);
      }
    });

    it('no plan from any fixture under test/fixtures (snapshots and pastes) names a node that is not a host:port address', () => {
      const dir = path.join(__dirname, '..', '..', 'fixtures', 'cluster-nodes');
      const reports = fixtures.map((f) => ({ name: f.scenario, report: reportOf(f) }));
      for (const file of fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.txt') && !f.endsWith('.info.txt'))
        .sort()) {
        const info = path.join(dir, file.replace(/\.txt$/, '.info.txt'));
        const text = fs.readFileSync(path.join(dir, file), 'utf8') + (fs.existsSync(info) ? fs.readFileSync(info, 'utf8') : '');
        reports.push({ name: file, report: analyseSnapshot(parsePaste(text)).report });
      }
      assert.ok(reports.length >= fixtures.length + 4);
      for (const { name, report } of reports) {
        assert.equal(report.planningError, undefined, `${name}: ${report.planningError}`);
        for (const plan of report.fixes) {
          for (const node of stepNodes(plan)) assert.ok(isHostPort(node), `${name}: ${plan.id} "${plan.title}" names "${node}"`);
        }
      }
    });

    it('plans from a paste say they are sketches of the pasted views only', () => {
      const text = fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'cluster-nodes', 'master-fail-no-replica.txt'), 'utf8');
      const { report } = analyseSnapshot(parsePaste(text));
      assert.ok(report.fixes.length > 0);
      for (const plan of report.fixes) assert.equal(plan.preconditions[0], OFFLINE_NOTE);
    });

    it('nothing to plan for a report without findings', () => {
      const fixture = loadFixture('healthy-with-spare');
      const report = { ...reportOf(fixture), findings: [] };
      assert.deepEqual(planFixes(report, fixture.snapshot, { spareNodes: fixture.spareNodes }), []);
    });
  });
});

function count(ranges: Array<[number, number]>): number {
  return ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
}
