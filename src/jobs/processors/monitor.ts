import type { Job } from 'bullmq';
import type { MonitorPoll } from '../../incidents/monitor';
import type { MonitorJobData } from '../types';

/** Thin: the incident logic (src/incidents) does the poll; the queue only schedules and spreads it. */
export function createMonitorProcessor(
  poll: MonitorPoll,
): (job: Job<MonitorJobData>, token?: string, signal?: AbortSignal) => Promise<unknown> {
  return async (job, _token, _signal) => poll(job);
}
