import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ParseError } from '../../../src/errors';
import { parsePaste } from '../../../src/cluster/parse-paste';
import { analyseSnapshot } from '../../../src/engine';

const fixture = (name: string): string => fs.readFileSync(path.join(__dirname, '../../fixtures/cluster-nodes', name), 'utf8');

describe('parsePaste', () => {
  it('takes CLUSTER NODES and CLUSTER INFO mixed with prompts and (error) lines', () => {
    const snapshot = parsePaste(fixture('paste-with-prompts.txt'));
    assert.equal(snapshot.offline, true);
    const asked = snapshot.probes.filter((p) => p.status === 'ok');
    assert.equal(asked.length, 1);
    assert.equal(asked[0]!.addr, '127.0.0.1:31000');
    assert.match(asked[0]!.replies!.clusterInfo!, /cluster_state:fail/);
    assert.deepEqual(
      snapshot.probes.filter((p) => p.status === 'not-asked').map((p) => p.addr),
      ['127.0.0.1:31001', '127.0.0.1:31002'],
    );
  });

  it('unfolds a quoted redis-cli reply with \\n escapes', () => {
    const lines = fixture('master-fail-no-replica.txt').trim().split('\n');
    const snapshot = parsePaste(`"${lines.join('\\n')}\\n"`);
    assert.equal(snapshot.probes.length, 3);
  });

  it('keeps one view per prompt', () => {
    const a = fixture('master-fail-no-replica.txt');
    const b = a
      .replace('myself,master', 'master')
      .replace(
        'f6f3fbdb4a1fa0e2e9d0c3b0d2b8cd6f4c2b3002 127.0.0.1:31001@41001 master',
        'f6f3fbdb4a1fa0e2e9d0c3b0d2b8cd6f4c2b3002 127.0.0.1:31001@41001 myself,master',
      );
    const snapshot = parsePaste(`127.0.0.1:31000> cluster nodes\n${a}\n127.0.0.1:31001> cluster nodes\n${b}`);
    assert.deepEqual(
      snapshot.probes.filter((p) => p.status === 'ok').map((p) => p.addr),
      ['127.0.0.1:31000', '127.0.0.1:31001'],
    );
  });

  it('names the line that is neither a node line nor an info line', () => {
    const text = `${fixture('master-fail-no-replica.txt')}this is not redis output\n`;
    assert.throws(
      () => parsePaste(text),
      (err: unknown) => err instanceof ParseError && err.line === 4 && /not a CLUSTER NODES or CLUSTER INFO line/.test(err.message),
    );
  });

  it('refuses a paste without node lines', () => {
    assert.throws(() => parsePaste('cluster_state:ok\n'), /no CLUSTER NODES lines/);
    assert.throws(() => parsePaste(''), /no CLUSTER NODES lines/);
  });

  it('refuses two myself lines with no prompt between them', () => {
    const a = fixture('master-fail-no-replica.txt');
    assert.throws(
      () => parsePaste(a + a.replace('90668156f0a3e30e8e6e0e0b7a5aac4ab3b4c001', 'a0668156f0a3e30e8e6e0e0b7a5aac4ab3b4c001')),
      /second "myself" line/,
    );
  });

  it('diagnoses a paste offline and says what one view cannot know', () => {
    const { report } = analyseSnapshot(parsePaste(fixture('paste-with-prompts.txt')));
    assert.equal(report.primary, 'MASTER_DOWN_NO_REPLICA');
    assert.equal(report.verdict, 'down');
    assert.deepEqual(report.coverage.uncovered, [[10923, 16383]]);
    assert.equal(report.offline, true);
    assert.ok(report.limitations!.some((l) => /nobody was asked live/.test(l)));
    assert.equal(report.nodes.find((n) => n.addr === '127.0.0.1:31001')!.reachable, null);
  });

  it('reads CLUSTER INFO keys with a dash (printed after failover votes, exactly when people paste)', () => {
    const info =
      'cluster_state:ok\ncluster_slots_assigned:16384\ncluster_stats_messages_auth-req_received:1\ncluster_stats_messages_auth-ack_sent:2\n';
    const snapshot = parsePaste(
      `127.0.0.1:31000> cluster nodes\n${fixture('master-fail-no-replica.txt')}127.0.0.1:31000> cluster info\n${info}`,
    );
    const view = snapshot.probes.find((p) => p.status === 'ok')!;
    assert.match(view.replies!.clusterInfo!, /auth-ack_sent:2/);
    assert.equal(analyseSnapshot(snapshot).report.nodes.length, 3);
  });

  describe('a myself line whose address is `:0` (a node that has not learnt its IP yet)', () => {
    const noaddr = fixture('myself-noaddr.txt');

    it('without a prompt: no node is named after the paste, no command targets it, and the report says which node it is', () => {
      const { report } = analyseSnapshot(parsePaste(noaddr));
      const self = report.nodes.find((n) => n.id.startsWith('e7d1eecc'))!;
      assert.equal(self.addr, '', 'a label is not an address');
      assert.ok(!report.nodes.some((n) => /pasted/.test(n.addr)));
      assert.equal(report.planningError, undefined);
      for (const plan of report.fixes) {
        for (const step of plan.steps)
          assert.match(step.node, /^\d+\.\d+\.\d+\.\d+:\d+$/, `${plan.title}: ${step.node}> ${step.command.join(' ')}`);
      }
      assert.ok(
        report.limitations!.some((l) => /e7d1eecc does not name its own address .*:0.*no command can be addressed to it/.test(l)),
        report.limitations!.join('\n'),
      );
    });

    it("under its redis-cli prompt: commands name the prompt's address", () => {
      for (const prompt of ['10.0.0.2:7000> cluster nodes', '$ redis-cli -h 10.0.0.2 -p 7000 cluster nodes']) {
        const { report } = analyseSnapshot(parsePaste(`${prompt}\n${noaddr}`));
        assert.equal(report.nodes.find((n) => n.id.startsWith('e7d1eecc'))!.addr, '10.0.0.2:7000', prompt);
        const assign = report.fixes.find((p) => p.action === 'ASSIGN_UNCOVERED_SLOTS')!;
        assert.deepEqual(
          assign.steps.map((s) => `${s.node}> ${s.command.join(' ')}`),
          [
            '10.0.0.2:7000> CLUSTER DELSLOTSRANGE 0 5460',
            '10.0.0.2:7000> CLUSTER ADDSLOTSRANGE 0 5460',
            '10.0.0.2:7000> CLUSTER BUMPEPOCH',
          ],
          prompt,
        );
      }
    });

    it('takes the address the other views list it at', () => {
      const other =
        '127.0.0.1:7001> cluster nodes\n' +
        noaddr
          .replace(':0 myself,master', '10.0.0.2:7000 master')
          .replace(
            '292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 10.0.0.3:7000 master',
            '292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 10.0.0.3:7000 myself,master',
          );
      const { report } = analyseSnapshot(parsePaste(`${noaddr}\n${other}`));
      assert.equal(report.nodes.find((n) => n.id.startsWith('e7d1eecc'))!.addr, '10.0.0.2:7000');
    });
  });
});
