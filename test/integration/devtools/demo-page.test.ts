// `npm run demo` as a person uses it: the real command (bin/redis-medic demo --serve) and a
// real browser (playwright-core driving Debian's chromium) on its local channel page. The
// person breaks the cluster, waits for the incident the monitor opens, clicks Approve, reads
// the confirm dialog, runs it, and sees the incident resolved. Every click is a signed
// block_actions request into the running app, as Slack would send it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { trackProcess } from '../../helpers/processes';

const ROOT = path.join(__dirname, '../../..');
const BIN = path.join(ROOT, 'bin/redis-medic');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// `UPDATE_SCREENSHOT=1 npx mocha test/integration/devtools/demo-page.test.ts` refreshes the one in docs/.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT ? path.join(ROOT, 'docs/demo.png') : path.join(os.tmpdir(), 'redis-medic-demo.png');

describe('demo page (npm run demo in a browser)', function () {
  this.timeout(120_000);
  let demo: ChildProcess | undefined;
  let output = '';
  let browser: Browser | undefined;

  before(() => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is missing at ${CHROMIUM}: this test drives Debian's chromium with playwright-core. ` +
          'Install it with `sudo apt-get install -y chromium chromium-driver` (bash .ci/run does), or set CHROMIUM_PATH.',
      );
    }
  });

  after(async () => {
    await browser?.close();
    if (demo && demo.exitCode === null && demo.signalCode === null) {
      // Ctrl-C, as a person would: the demo stops the app and tears its cluster down.
      const exited = new Promise((resolve) => demo!.once('exit', resolve));
      demo.kill('SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
    }
  });

  it('break the cluster, the incident opens, Approve with its confirm dialog, resolved', async () => {
    demo = spawn(process.execPath, [BIN, 'demo', '--serve'], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackProcess(demo);
    demo.stderr!.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      demo!.stdout!.on('data', (c: Buffer) => {
        output += c.toString();
        const m = /the local channel is at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
        if (m) resolve(m[1]!);
      });
      demo!.once('exit', (code) => reject(new Error(`demo exited (${code}) before printing its URL:\n${output}`)));
    });

    browser = await chromium.launch({ executablePath: CHROMIUM });
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(url);
    // Connected: the first state arrived over Server-Sent Events (the monitor may already have posted its risks).
    await page.locator('body[data-version]').waitFor();

    await page.getByRole('button', { name: /Break the cluster/ }).click();
    await assertStatus(page, /Killed the master 127\.0\.0\.1:\d+ \(slots 10923-16383\) with SIGKILL/);

    // The monitor opens the incident thread by itself; its fixes come as buttons in the thread.
    const incident = page.locator('article.msg', { hasText: /demo is DOWN/ }).first();
    await incident.waitFor({ timeout: 30_000 });
    // Approve the slots' reassignment, then what the monitor offers next (forgetting the dead
    // master's ghost), until the incident resolves. A plan made while gossip still converged
    // can be refused as out of date and offered again: that button is clicked again.
    const resolved = page.getByText(/demo: Resolved after/).first();
    const next = page.locator('button[data-button]', { hasText: /^Approve: (Assign slots 10923-16383|Forget)/ }).first();
    const deadline = Date.now() + 60_000;
    for (;;) {
      await resolved
        .or(next)
        .waitFor({ timeout: Math.max(1, deadline - Date.now()) })
        .catch((err: Error) => explain(page, err));
      if (await resolved.isVisible()) break;
      const clicked = page.locator(`button[data-button="${await next.getAttribute('data-button')}"]`);
      await approve(page, next);
      // The click edits the message (Approved by ..., running): wait until that button is gone.
      await clicked.waitFor({ state: 'detached', timeout: 15_000 }).catch(() => undefined);
    }
    assert.match((await resolved.textContent()) ?? '', /demo: Resolved after \d+s/);
    assert.match((await page.locator('#channel').textContent()) ?? '', /Repaired: Assign slots 10923-16383/);

    await page.locator('#channel').evaluate((channel: { scrollTop: number }) => {
      channel.scrollTop = 0;
    });
    await page.screenshot({ path: SCREENSHOT });
  });
});

/** Clicks an Approve button, checks its confirm dialog (the plan and what it loses), runs it. */
async function approve(page: Page, target: Locator): Promise<void> {
  const title = (await target.textContent())?.replace(/^Approve: /, '') ?? '';
  await target.click();
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  const text = (await dialog.textContent()) ?? '';
  assert.ok(text.includes(`Run "${title.slice(0, 30)}`), text);
  assert.match(text, /Data loss:/);
  await dialog.locator('button[data-confirm]').click();
  await assertStatus(page, /Clicked "Approve: .*" as U0ONCALL \(a signed block_actions request\)/);
}

async function assertStatus(page: Page, expected: RegExp): Promise<void> {
  await page.locator('#status', { hasText: expected }).waitFor({ timeout: 15_000 });
}

/** A wait that timed out, with what the channel showed instead: the story is in it. */
async function explain(page: Page, err: Error): Promise<never> {
  const status = await page.locator('#status').textContent();
  const channel = (await page.locator('#channel').textContent()) ?? '';
  throw new Error(`${err.message}\nstatus: ${status}\nchannel (end):\n${channel.slice(-3000)}`);
}
