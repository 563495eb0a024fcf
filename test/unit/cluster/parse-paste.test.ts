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
    assert.deepEqual(snapshot.probes.filter((p) => p.status === 'not-asked').map((p) => p.addr), ['127.0.0.1:31001', '127.0.0.1:31002']);
  });

  it('unfolds a quoted redis-cli reply with \\n escapes', () => {
    const lines = fixture('master-fail-no-replica.txt').trim().split('\n');
    const snapshot = parsePaste(`"${lines.join('\\n')}\\n"`);
    assert.equal(snapshot.probes.length, 3);
  });

  it('keeps one view per prompt', () => {
    const a = fixture('master-fail-no-replica.txt');
    const b = a.replace('myself,master', 'master').replace('f6f3fbdb4a1fa0e2e9d0c3b0d2b8cd6f4c2b3002 127.0.0.1:31001@41001 master', 'f6f3fbdb4a1fa0e2e9d0c3b0d2b8cd6f4c2b3002 127.0.0.1:31001@41001 myself,master');
    const snapshot = parsePaste(`127.0.0.1:31000> cluster nodes\n${a}\n127.0.0.1:31001> cluster nodes\n${b}`);
    assert.deepEqual(snapshot.probes.filter((p) => p.status === 'ok').map((p) => p.addr), ['127.0.0.1:31000', '127.0.0.1:31001']);
  });

  it('names the line that is neither a node line nor an info line', () => {
    const text = `${fixture('master-fail-no-replica.txt')}this is not redis output\n`;
    assert.throws(() => parsePaste(text), (err: unknown) => err instanceof ParseError && err.line === 4 && /not a CLUSTER NODES or CLUSTER INFO line/.test(err.message));
  });

  it('refuses a paste without node lines', () => {
    assert.throws(() => parsePaste('cluster_state:ok\n'), /no CLUSTER NODES lines/);
    assert.throws(() => parsePaste(''), /no CLUSTER NODES lines/);
  });

  it('refuses two myself lines with no prompt between them', () => {
    const a = fixture('master-fail-no-replica.txt');
    assert.throws(() => parsePaste(a + a.replace('90668156f0a3e30e8e6e0e0b7a5aac4ab3b4c001', 'a0668156f0a3e30e8e6e0e0b7a5aac4ab3b4c001')), /second "myself" line/);
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
});
