import { UnrecoverableError, type Job } from 'bullmq';
import type { AuditLog } from '../../audit/audit-log';
import { findCluster } from '../../config/clusters';
import type { ClusterConfig, Config } from '../../config/schema';
import { diagnoseCluster, type ClusterDiagnosis } from '../../engine';
import { ErrorCode, errorMessage, isRedisMedicError } from '../../errors';
import type { Logger } from '../../logging/logger';
import type { DiagnoseJobData, DiagnoseJobResult, DiagnoseProgress, JobHooks } from '../types';
import { actorOf, callHook } from './safe-hook';
import { plural } from '../../text';

export interface DiagnoseProcessorDeps {
  config: Pick<Config, 'clusters' | 'timeouts'>;
  logger: Logger;
  hooks?: JobHooks;
  audit?: AuditLog;
  /**
   * The diagnosis itself (default: the real pipeline, collectSnapshot → diagnose → plan, on this
   * thread; `start` runs it on the monitor's probe thread). Only its report is used.
   */
  diagnose?: ClusterDiagnosis;
}

export type DiagnoseJob = Job<DiagnoseJobData, DiagnoseJobResult>;

/** Errors that no retry can fix: fail the job at once instead of backing off. */
const PERMANENT = [ErrorCode.UnknownCluster, ErrorCode.AddressNotAllowed, ErrorCode.ConfigError];

/**
 * job → diagnoseCluster → report (the job's return value). "No seed answered" is thrown as is,
 * so BullMQ retries it with backoff (a blip, a restarting node); an unknown cluster is not.
 * onDiagnosisFailed fires once, on the attempt that will not be retried.
 */
export function createDiagnoseProcessor(
  deps: DiagnoseProcessorDeps,
): (job: DiagnoseJob, token?: string, signal?: AbortSignal) => Promise<DiagnoseJobResult> {
  const run = deps.diagnose ?? diagnoseCluster;
  return async (job, _token, signal) => {
    // Handed back on shutdown: the attempt's outcome belongs to whichever worker runs it next.
    const abandoned = (): boolean => signal?.aborted === true;
    const { data } = job;
    const log = deps.logger.child({ queue: 'diagnose', jobId: job.id, cluster: data.cluster });
    try {
      const cluster = lookUp(deps.config as Config, data.cluster);
      await progress(job, deps, {
        phase: 'collecting',
        message: `checking ${plural(cluster.seeds.length, 'seed node')} of ${cluster.name}`,
        nodes: cluster.seeds.length,
      });
      const { report } = await run(cluster, deps.config);
      const answered = report.nodes.filter((n) => n.reachable).length;
      const verdict = report.primary ? `${report.verdict} (${report.primary})` : report.verdict;
      await progress(job, deps, {
        phase: 'diagnosed',
        message: `checked ${plural(report.nodes.length, 'node')} (${answered} answered): ${verdict}`,
        nodes: report.nodes.length,
      });
      await deps.audit?.record({
        action: 'diagnosis.completed',
        cluster: data.cluster,
        actor: actorOf(data.origin),
        details: { jobId: job.id, verdict: report.verdict, primary: report.primary },
      });
      if (!abandoned())
        await callHook(
          log,
          'onDiagnosisDone',
          deps.hooks?.onDiagnosisDone && (() => deps.hooks!.onDiagnosisDone!(data, report, String(job.id))),
        );
      return report;
    } catch (err) {
      const final = err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      log.warn(
        { error: errorMessage(err), attempt: job.attemptsMade + 1, final },
        `diagnosis of ${data.cluster} failed${final ? '' : ', will retry'}: ${errorMessage(err)}`,
      );
      if (final && !abandoned()) {
        await deps.audit?.record({
          action: 'diagnosis.failed',
          cluster: data.cluster,
          actor: actorOf(data.origin),
          details: { jobId: job.id, error: errorMessage(err) },
        });
        await callHook(
          log,
          'onDiagnosisFailed',
          deps.hooks?.onDiagnosisFailed && (() => deps.hooks!.onDiagnosisFailed!(data, errorMessage(err), String(job.id))),
        );
      }
      throw err;
    }
  };
}

function lookUp(config: Config, name: string): ClusterConfig {
  try {
    return findCluster(config, name);
  } catch (err) {
    if (isRedisMedicError(err) && PERMANENT.includes(err.code)) throw new UnrecoverableError(err.message);
    throw err;
  }
}

async function progress(job: DiagnoseJob, deps: DiagnoseProcessorDeps, update: DiagnoseProgress): Promise<void> {
  // Progress is a courtesy: losing it (queue Redis blip) must not fail the diagnosis.
  await job
    .updateProgress(update as unknown as object)
    .catch((err: unknown) => deps.logger.debug({ error: errorMessage(err) }, 'could not store job progress'));
  await callHook(
    deps.logger,
    'onDiagnoseProgress',
    deps.hooks?.onDiagnoseProgress && (() => deps.hooks!.onDiagnoseProgress!(job.data, update.message)),
  );
}
