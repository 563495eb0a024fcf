// Review of issue 11 (engineer R): what a node announces reaches the operator's terminal. A real
// redis-server accepts any bytes in cluster-announce-ip (only the hostname is checked), so a node
// announcing "\x1b[2J..." made `redis-medic diagnose` clear the screen, and an escape sequence can
// as well hide lines, rewrite them (\r) or set the clipboard (OSC 52). The CLI prints control
// characters as visible \u00NN instead (inside a --json string that is the same character).
import assert from 'node:assert/strict';
import { runCli, type CliRun } from '../../helpers/cli';
import { useCluster } from '../../helpers/cluster';

const HOSTILE = 'a\x1b[2J\x1b]52;c;cm0gLXJmIC8K\x07\rb';
// Every C0 control but tab and newline, DEL, and the C1 range (CSI is \x9b on 8-bit terminals).
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

const cli = (args: string[], input?: string): Promise<CliRun> => runCli(args, { input });

describe('CLI output: hostile node data cannot drive the terminal', function () {
  this.timeout(60000);
  const cluster = useCluster({ masters: 3 });

  it('diagnose of a live node announcing escape sequences as its IP: none reaches stdout, the bytes are shown', async () => {
    const c = cluster();
    const [m0, , x] = c.masters();
    await c.client(x!).call('CONFIG', 'SET', 'cluster-announce-ip', HOSTILE);
    try {
      // Seeded at the announcing node itself: its own line (and so the node table) carries the bytes.
      const run = await cli(['diagnose', `${x!.addr},${m0!.addr}`]);
      assert.ok(run.stdout.includes('\\u001b[2J'), `the announced bytes are not shown:\n${run.stdout}`);
      assert.ok(
        !CONTROL.test(run.stdout),
        `control characters reached the terminal: ${JSON.stringify(run.stdout.match(new RegExp(CONTROL.source, 'g')))}`,
      );
      assert.ok(!CONTROL.test(run.stderr), 'control characters reached stderr');
    } finally {
      await c.client(x!).call('CONFIG', 'SET', 'cluster-announce-ip', '');
    }
  });

  it('analyze of a pasted CLUSTER NODES with escape sequences in an address: none reaches stdout', async () => {
    const paste = [
      `${'a'.repeat(40)} 10.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-8191`,
      `${'b'.repeat(40)} ${HOSTILE}:6379@16379 master,fail - 0 0 2 connected 8192-16383`,
    ].join('\n');
    const run = await cli(['analyze', '-'], `${paste}\n`);
    assert.ok(!CONTROL.test(run.stdout), `control characters reached the terminal:\n${JSON.stringify(run.stdout)}`);
    assert.ok(!CONTROL.test(run.stderr), `control characters reached stderr:\n${JSON.stringify(run.stderr)}`);
  });
});
