// The monitor's cluster work (light probe, full diagnosis) runs on a thread of its own (issue 15:
// a 1000-node cluster's poll blocked the event loop that acks Slack for seconds). On a real
// cluster: the monitor's thread never asks a node itself, the thread's answers are the ones the
// main thread would give (error codes included), and a thread that dies fails only the work in
// flight.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { threadId } from 'node:worker_threads';
import sinon from 'sinon';
import { ErrorCode, isRedisMedicError } from '../../../src/errors';
import { runDiagnosis, runLightProbe, type LightProbeRequest } from '../../../src/incidents/probe-tasks';
import { diagnoseOnProbeThread, lightProbe, stopProbeThread, useProbeWorkerEntry } from '../../../src/incidents/probe-thread';
import type { MonitorJobData } from '../../../src/jobs/types';
import { useHarness } from '../../helpers/harness';
import { countConnectsFromThisThread } from '../../helpers/thread-connects';
import { CLUSTER, monitorProcess, testConfig, testLogger } from './harness';

const execFileAsync = promisify(execFile);
const POLL: MonitorJobData = { cluster: CLUSTER, reason: 'schedule' };

describe('monitor probe thread', function () {
  this.timeout(60_000);
  const h = useHarness({ cluster: { masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1000 }, healCluster: true, fakeSlack: true });

  afterEach(() => sinon.restore());

  function request(): LightProbeRequest {
    const config = testConfig(h.prefix, h.cluster().seeds.slice(0, 1), h.fake);
    return { cluster: config.clusters[0]!, config, seeds: h.cluster().seeds.slice(0, 1), at: Date.parse('2026-01-01T03:00:00Z') };
  }

  it("a poll's light probe and its deep check ask the cluster from the probe thread, never from the monitor's", async () => {
    const c = h.cluster();
    const config = testConfig(h.prefix, c.seeds, h.fake);
    const m = h.track(monitorProcess(config));
    const connectsHere = countConnectsFromThisThread(c.nodes.map((n) => n.port));
    const outcome = await m.monitor.poll(POLL);
    assert.equal(outcome.off, false, outcome.reasons.join('; '));
    assert.equal(outcome.verdict, 'ok', 'the first poll of a cluster is also its deep check');
    assert.equal(connectsHere(), 0, "the monitor's thread connected to cluster nodes itself");
    // What the probe learnt still reached the store: every node to ask next time.
    assert.deepEqual((await m.monitor.store.knownNodes(CLUSTER)).length, c.nodes.length);
  });

  it('answers what the same probe run on the main thread answers', async () => {
    const wanted = request();
    const [onThread, here] = await Promise.all([lightProbe(wanted, testLogger()), runLightProbe(wanted)]);
    assert.notEqual(onThread.threadId, threadId, 'ran on another thread');
    assert.equal(here.threadId, threadId);
    assert.deepEqual(onThread.assessment, here.assessment);
    assert.deepEqual(onThread.known, here.known);
    assert.deepEqual(onThread.states, here.states);
    assert.equal(onThread.known.length, 6, 'discovered every node from one seed');
    assert.ok(
      onThread.snapshot.probes.every((p) => p.replies === undefined),
      'the replies stay on the probe thread',
    );
  });

  it('diagnoses what a diagnosis on the main thread finds, and keeps the error code when no node answers', async () => {
    const { cluster, config, seeds } = request();
    const noHistory = async () => new Map();
    const [onThread, here] = await Promise.all([
      diagnoseOnProbeThread({ cluster, config, seeds }, noHistory, testLogger()),
      runDiagnosis({ cluster, config, seeds }, noHistory),
    ]);
    assert.notEqual(onThread.threadId, threadId);
    const timeless = (report: object): string =>
      JSON.stringify(report, (key, value) => (/^(checkedAt|takenAt|durationMs)$/.test(key) ? 0 : value));
    assert.equal(timeless(onThread.report), timeless(here.report));
    assert.equal(onThread.report.nodes.length, 6);

    const nobody = { ...cluster, seeds: ['127.0.0.1:1'] };
    const failed = await diagnoseOnProbeThread({ cluster: nobody, config, seeds: nobody.seeds }, noHistory, testLogger()).catch(
      (err: unknown) => err,
    );
    assert.ok(isRedisMedicError(failed, ErrorCode.NoSeedAnswered), String(failed));
  });

  it('a thread stopped mid-probe fails that poll with the reason, and the next probe gets a new thread', async () => {
    const c = h.cluster();
    const frozen = c.masters()[0]!;
    c.freeze(frozen);
    try {
      // The frozen node holds the probe up to its command timeout: the thread stops meanwhile.
      const failed = lightProbe(request(), testLogger()).then(
        () => null,
        (err: Error) => err,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      await stopProbeThread();
      assert.match(String(await failed), /probe thread stopped/);
    } finally {
      c.thaw(frozen);
    }
    const again = await lightProbe(request(), testLogger());
    assert.notEqual(again.threadId, threadId);
    assert.equal(again.assessment.off, false, again.assessment.reasons.join('; '));
  });

  it('a thread that cannot start: the work runs in place for a while, and that is logged', async () => {
    const logger = testLogger();
    const warned = sinon.spy(logger, 'warn');
    await useProbeWorkerEntry('/nonexistent/probe-worker.js');
    try {
      const first = await lightProbe(request(), logger);
      const second = await lightProbe(request(), logger);
      assert.equal(first.threadId, threadId, 'ran on the calling thread');
      assert.equal(second.assessment.off, false, second.assessment.reasons.join('; '));
      assert.equal(warned.callCount, 1);
      assert.match(String(warned.firstCall.args[1]), /probe thread could not start/);
    } finally {
      await useProbeWorkerEntry(null);
    }
    assert.notEqual((await lightProbe(request(), logger)).threadId, threadId, 'a thread again once it can start');
  });

  it('the compiled build starts its thread under node flags a worker may not be given (--max-old-space-size)', async () => {
    // Passing a process's flags to a worker explicitly makes Node refuse this one: the thread never
    // started, and every probe ran on the main thread.
    const dist = path.join(__dirname, '../../../dist/incidents/probe-thread.js');
    const script = `
      const { lightProbe } = require(${JSON.stringify(dist)});
      const logger = { warn: (o, m) => console.error(m), error: (o, m) => console.error(m) };
      lightProbe(${JSON.stringify(request())}, logger).then((r) => console.log(JSON.stringify({ threadId: r.threadId, off: r.assessment.off })));`;
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--max-old-space-size=256', '-e', script], { timeout: 20_000 });
    assert.equal(stderr, '');
    const result = JSON.parse(stdout) as { threadId: number; off: boolean };
    assert.notEqual(result.threadId, 0, 'ran on the probe thread');
    assert.equal(result.off, false);
  });

  describe('a thread that dies with work in flight', () => {
    const entry = path.join(__dirname, '../../fixtures/probe-workers/crashes.ts');
    let marker: string;
    beforeEach(() => {
      marker = path.join(os.tmpdir(), `probe-worker-${process.pid}-${Date.now()}`);
      process.env.PROBE_WORKER_MARKER = marker;
    });
    afterEach(async () => {
      delete process.env.PROBE_WORKER_MODE;
      delete process.env.PROBE_WORKER_MARKER;
      fs.rmSync(marker, { force: true });
      await useProbeWorkerEntry(null);
    });

    it('crashed: every task in flight runs once more on a new thread, and the death is logged with them', async () => {
      process.env.PROBE_WORKER_MODE = 'crash-once';
      await useProbeWorkerEntry(entry);
      const logger = testLogger();
      const logged = sinon.spy(logger, 'error');
      // Two clusters' work on the thread when it dies: neither is lost with the other.
      const [light, diagnosis] = await Promise.all([
        lightProbe(request(), logger),
        diagnoseOnProbeThread({ ...request(), seeds: h.cluster().seeds }, async () => new Map(), logger),
      ]);
      assert.equal(light.assessment.off, false, light.assessment.reasons.join('; '));
      assert.equal(diagnosis.report.verdict, 'ok');
      assert.notEqual(light.threadId, threadId);
      assert.equal(logged.callCount, 1);
      assert.match(String(logged.firstCall.args[1]), /probe thread stopped: it failed: probe worker stand-in crashed/);
      assert.equal((logged.firstCall.args[0] as { inFlight: unknown[] }).inFlight.length, 2);
    });

    it('crashed again on the retry: the task fails and says so', async () => {
      process.env.PROBE_WORKER_MODE = 'crash';
      await useProbeWorkerEntry(entry);
      const failed = await lightProbe(request(), testLogger()).catch((err: unknown) => err);
      assert.match(
        String(failed),
        /light probe of payments failed twice: the probe thread stopped \(it failed: probe worker stand-in crashed/,
      );
    });

    it('stuck (its event loop stopped): the watchdog replaces it', async () => {
      process.env.PROBE_WORKER_MODE = 'freeze';
      await useProbeWorkerEntry(entry, { stuckAfterMs: 1500 });
      const failed = await lightProbe(request(), testLogger()).catch((err: unknown) => err);
      assert.match(String(failed), /failed twice: the probe thread stopped \(its event loop did not answer for \d+ s \(stuck\)\)/);
    });
  });
});
