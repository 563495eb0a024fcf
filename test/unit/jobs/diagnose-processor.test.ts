// The diagnose processor's decisions, with the diagnosis itself passed in: what is retried,
// when the failure is reported, what progress says. No network.
import assert from 'node:assert/strict';
import { UnrecoverableError, type Job } from 'bullmq';
import { parseConfig } from '../../../src/config/load';
import type { DiagnosisRun } from '../../../src/engine';
import { ErrorCode, RedisMedicError } from '../../../src/errors';
import { createDiagnoseProcessor, type DiagnoseJob } from '../../../src/jobs/processors/diagnose';
import type { DiagnoseJobData } from '../../../src/jobs/types';
import { silentLogger } from '../../../src/logging/logger';

function jobOf(data: DiagnoseJobData, attemptsMade: number, attempts = 3): DiagnoseJob & { progress: unknown[] } {
  const progress: unknown[] = [];
  const job = {
    id: '7',
    data,
    attemptsMade,
    opts: { attempts },
    progress,
    async updateProgress(p: unknown) {
      progress.push(p);
    },
  };
  return job as unknown as DiagnoseJob & { progress: unknown[] };
}

describe('diagnose processor', () => {
  const config = parseConfig({ clusters: [{ name: 'payments', seeds: ['10.0.0.31:6379', '10.0.0.32:6379'] }] });
  const data: DiagnoseJobData = { cluster: 'payments', origin: { kind: 'monitor' } };
  const noSeed = async (): Promise<DiagnosisRun> => {
    throw new RedisMedicError(ErrorCode.NoSeedAnswered, 'no node of payments answered');
  };

  it('rethrows "no seed answered" for BullMQ to retry, and reports it only on the last attempt', async () => {
    const failed: string[] = [];
    const processor = createDiagnoseProcessor({
      config,
      logger: silentLogger,
      diagnose: noSeed,
      hooks: {
        async onDiagnosisFailed(_d, error) {
          failed.push(error);
        },
      },
    });
    await assert.rejects(processor(jobOf(data, 0)), /no node of payments answered/);
    await assert.rejects(processor(jobOf(data, 1)), /no node of payments answered/);
    assert.deepEqual(failed, []);
    await assert.rejects(processor(jobOf(data, 2)), (err: Error) => !(err instanceof UnrecoverableError));
    assert.deepEqual(failed, ['no node of payments answered']);
  });

  it('an unknown cluster is unrecoverable (no retries) and reported at once', async () => {
    const failed: string[] = [];
    const processor = createDiagnoseProcessor({
      config,
      logger: silentLogger,
      diagnose: noSeed,
      hooks: {
        async onDiagnosisFailed(_d, error) {
          failed.push(error);
        },
      },
    });
    await assert.rejects(
      processor(jobOf({ ...data, cluster: 'ledger' }, 0)),
      (err: Error) => err instanceof UnrecoverableError && /unknown cluster "ledger"/.test(err.message),
    );
    assert.equal(failed.length, 1);
  });

  it('reports progress, and a hook that throws does not fail the job', async () => {
    const report = {
      cluster: 'payments',
      verdict: 'down',
      primary: 'QUORUM_LOST',
      nodes: [{ reachable: true }, { reachable: false }, { reachable: true }],
    };
    const processor = createDiagnoseProcessor({
      config,
      logger: silentLogger,
      diagnose: async () => ({ report, snapshot: {} }) as unknown as DiagnosisRun,
      hooks: {
        async onDiagnoseProgress() {
          throw new Error('Slack is down');
        },
        async onDiagnosisDone() {
          throw new Error('Slack is down');
        },
      },
    });
    const job = jobOf(data, 0);
    assert.equal(await processor(job as unknown as Job<DiagnoseJobData>), report);
    assert.deepEqual(job.progress, [
      { phase: 'collecting', message: 'checking 2 seed nodes of payments', nodes: 2 },
      { phase: 'diagnosed', message: 'checked 3 nodes (2 answered): down (QUORUM_LOST)', nodes: 3 },
    ]);
  });
});
