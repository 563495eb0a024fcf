import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../../src/devtools/local-cluster';
import { runCli, type CliRun } from '../../helpers/cli';
import { useCluster } from '../../helpers/cluster';

const FIXTURES = path.join(__dirname, '../../fixtures/cluster-nodes');

const cli = (args: string[], input?: string): Promise<CliRun> => runCli(args, { input });

describe('CLI: diagnose and analyze', function () {
  this.timeout(60000);
  const cluster = useCluster({ masters: 3 });

  it('diagnose on a healthy cluster: human report, exit 0', async () => {
    const run = await cli(['diagnose', cluster().seeds[0]!]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /: OK /);
    assert.match(run.stdout, /Slots: 16384 of 16384 ok/);
  });

  it('diagnose --json prints the report contract', async () => {
    const run = await cli(['diagnose', cluster().seeds.join(','), '--json']);
    const report = JSON.parse(run.stdout) as { verdict: string; nodes: unknown[]; coverage: { uncovered: unknown[] } };
    assert.equal(report.verdict, 'ok');
    assert.equal(report.nodes.length, 3);
    assert.deepEqual(report.coverage.uncovered, []);
  });

  it('diagnose with no node answering: exit 3, says which address failed and how', async () => {
    const port = await freePort();
    const run = await cli(['diagnose', `127.0.0.1:${port}`]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, new RegExp(`127\\.0\\.0\\.1:${port}: connection refused`));
  });

  it('diagnose an unknown cluster name or a bad timeout: exit 2 with the reason', async () => {
    const unknown = await cli(['diagnose', 'payments']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown cluster "payments"/);
    const timeout = await cli(['diagnose', cluster().seeds[0]!, '--timeout', 'soon']);
    assert.equal(timeout.code, 2);
    assert.match(timeout.stderr, /--timeout must be a positive number/);
  });

  it('analyze a paste from stdin: exit 1 for a critical cause, connects to nothing', async () => {
    const run = await cli(['analyze', '-'], fs.readFileSync(path.join(FIXTURES, 'paste-with-prompts.txt'), 'utf8'));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /Root cause: Master 127\.0\.0\.1:31002 is down and has no replica/);
    assert.match(run.stdout, /What one view cannot tell/);
  });

  it('analyze a malformed paste: exit 2, names the line', async () => {
    const run = await cli(
      ['analyze', '-'],
      'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 master,weird - 0 0 1 connected\n',
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr, /line 1: unknown flag "weird"/);
  });

  it('unknown command: exit 2 with usage', async () => {
    const run = await cli(['frobnicate']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown command/);
  });
});

describe('CLI: demo', function () {
  this.timeout(60000);
  it('breaks a throwaway cluster, names the cause, repairs it and cleans up', async () => {
    const run = await cli(['demo']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /Root cause: Master .* is down and has no replica/);
    // The advice-only plan (restart the node: no step redis-medic can run) says what to do by hand.
    assert.match(
      run.stdout,
      /Restart redis-server on \S+ with its data dir.*\n.*data loss: .*\n {6}what you do \(redis-medic cannot do this itself\):\n {8}- Restart redis-server on /,
    );
    assert.match(run.stdout, / {8}- Start it with the same port, cluster-config-file \(nodes\.conf\) and dir/);
    assert.match(run.stdout, / {8}- Then diagnose again/);
    assert.match(run.stdout, /Repair REPAIRED/);
    assert.match(run.stdout, /After the repair: (OK|DEGRADED); every node: .* ok, .* ok/);
    assert.match(run.stdout, /Cleaning up/);
  });

  it('--serve --auto: the whole product on a throwaway cluster, the people played, the channel printed: incident, diagnose, approve, repaired, resolved', async () => {
    const run = await cli(['demo', '--serve', '--auto']);
    assert.equal(run.code, 0, run.stdout.slice(-3000) + run.stderr);
    assert.match(run.stdout, /the local channel is at http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(run.stdout, /The monitor opened the incident thread by itself/);
    assert.match(run.stdout, /clicks "Approve: Assign slots 10923-16383/);
    assert.match(run.stdout, /:white_check_mark: Repaired/);
    assert.match(run.stdout, /Resolved after \d+s/);
    assert.match(run.stdout, /Cleaning up/);
  });
});
