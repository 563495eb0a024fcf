// Shared by the job pipeline tests: unique queue prefixes on the real queue Redis, and their cleanup.
import { randomUUID } from 'node:crypto';
import { parseConfig } from '../../../src/config/load';
import { Redis } from 'ioredis';
import type { Config } from '../../../src/config/schema';
import type { RepairJobData } from '../../../src/jobs/types';
import { approvalSigningSecret, createApprovalSigner } from '../../../src/repair/approval';
import { queueKeys } from '../../../src/queue-keys';
import { deleteQueueKeys } from '../../helpers/queue-redis';

export const QUEUE_REDIS_URL = process.env.TEST_QUEUE_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function testPrefix(): string {
  return `test-${randomUUID()}`;
}

/** The workers verify every repair job's approval with a key derived from this. */
export const TEST_APPROVAL_SECRET = 'test-approval-secret-for-jobs';

export function jobsConfig(prefix: string, seeds: string[], extra: Record<string, unknown> = {}, redisUrl = QUEUE_REDIS_URL): Config {
  return parseConfig({
    approvalSecret: TEST_APPROVAL_SECRET,
    clusters: [{ name: 'test', seeds }],
    timeouts: { connectMs: 500, commandMs: 1000 },
    queue: { redisUrl, prefix },
    ...extra,
  });
}

/** Deletes every key under the prefix (queues, markers, locks, audit stream). */
export async function deletePrefix(prefix: string): Promise<void> {
  await deleteQueueKeys(prefix);
}

/** Polls until `check` returns a value other than undefined; throws naming `what` on timeout. */
export async function pollFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * A repair job the way the Slack app makes one: the approval claimed in the approval store, then
 * signed with the configured secret (issue 11 §2: workers run nothing else).
 */
export async function approvedRepair(config: Config, data: Omit<RepairJobData, 'approval'>, at = Date.now()): Promise<RepairJobData> {
  const redis = new Redis(config.queue.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    await redis.set(
      queueKeys(config.queue.prefix).approvalClaim(data.approvalId),
      JSON.stringify({ user: data.approvedBy, planId: data.planId, at }),
      'PX',
      3_600_000,
    );
  } finally {
    redis.disconnect();
  }
  const signer = createApprovalSigner(approvalSigningSecret(config)!);
  return {
    ...data,
    approval: signer.sign({ id: data.approvalId, cluster: data.cluster, planId: data.planId, approvers: [data.approvedBy], claimedAt: at }),
  };
}
