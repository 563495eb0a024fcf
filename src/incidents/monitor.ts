import type { Job } from 'bullmq';
import type { MonitorJobData } from '../jobs/types';

/**
 * One monitor poll of one cluster (light probe, full diagnosis when anything is off, incident
 * open/update/resolve). Filled in by the incidents module; the monitor worker calls it.
 */
export type MonitorPoll = (job: Job<MonitorJobData>) => Promise<unknown>;
