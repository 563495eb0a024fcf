// The dependency rules of docs/architecture.md are enforced by `npm run check:deps`. This proves the
// check bites: the same command, run on a copy of src/ with one import planted, fails and names it.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

interface CheckRun {
  code: number;
  output: string;
}

function runCheck(cwd: string): Promise<CheckRun> {
  const bin = path.join(ROOT, 'node_modules/.bin/depcruise');
  const args = ['src', '--config', '.dependency-cruiser.cjs', '--ignore-known', '--output-type', 'err'];
  return new Promise((resolve) => {
    execFile(bin, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('dependency rules (npm run check:deps)', function () {
  this.timeout(90_000);
  let copy: string;

  before(async () => {
    copy = await mkdtemp(path.join(os.tmpdir(), 'redis-medic-deps-'));
    for (const entry of ['src', 'package.json', 'tsconfig.json', '.dependency-cruiser.cjs', '.dependency-cruiser-known-violations.json']) {
      await cp(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
    }
    await symlink(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  });

  after(async () => {
    if (copy) await rm(copy, { recursive: true, force: true });
  });

  it('passes on the tree as it is', async () => {
    const run = await runCheck(ROOT);
    assert.equal(run.code, 0, run.output);
  });

  it('fails on a Slack import planted in src/incidents, naming the rule and the file', async () => {
    const planted = path.join(copy, 'src/incidents/planted.ts');
    await writeFile(
      planted,
      "import { App } from '@slack/bolt';\nimport { escapeMrkdwn } from '../slack/blocks/text';\nexport const planted = [App, escapeMrkdwn];\n",
    );
    const run = await runCheck(copy);
    assert.notEqual(run.code, 0, `the check passed with a Slack import in src/incidents:\n${run.output}`);
    assert.match(run.output, /incidents-publish-through-a-port: src\/incidents\/planted\.ts → node_modules\/@slack\/bolt/);
    assert.match(run.output, /incidents-publish-through-a-port: src\/incidents\/planted\.ts → src\/slack\/blocks\/text\.ts/);
    await rm(planted);
  });

  it('fails on a queue import planted in the repair core', async () => {
    const planted = path.join(copy, 'src/repair/planted.ts');
    await writeFile(
      planted,
      "import { Queue } from 'bullmq';\nimport { QUEUE_NAMES } from '../jobs/queues';\nexport const planted = [Queue, QUEUE_NAMES];\n",
    );
    const run = await runCheck(copy);
    assert.notEqual(run.code, 0, run.output);
    assert.match(run.output, /core-without-edge-libraries: src\/repair\/planted\.ts → node_modules\/bullmq/);
    assert.match(run.output, /core-stays-pure: src\/repair\/planted\.ts → src\/jobs\/queues\.ts/);
    await rm(planted);
  });

  it('fails on a pager imported by the monitor: incidents decide, src/paging acts', async () => {
    const planted = path.join(copy, 'src/incidents/planted.ts');
    await writeFile(planted, "import { createPager } from '../paging/pager';\nexport const planted = createPager;\n");
    const run = await runCheck(copy);
    assert.notEqual(run.code, 0, run.output);
    assert.match(run.output, /paging-consumes-decisions: src\/incidents\/planted\.ts → src\/paging\/pager\.ts/);
    await rm(planted);
  });
});
