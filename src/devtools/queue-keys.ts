import { Redis } from 'ioredis';

// Test runs and `demo --serve` write under their own prefix in the queue Redis and remove it after.

export const QUEUE_REDIS_URL = 'redis://127.0.0.1:6379';

/** Remove every key written under its prefix in the queue Redis (UNLINK, never blocking). */
export async function deleteQueueKeys(prefix: string, existing?: Redis, url = QUEUE_REDIS_URL): Promise<void> {
  const redis = existing ?? new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    if (!existing) redis.disconnect();
  }
}
