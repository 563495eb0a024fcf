/**
 * The queue Redis's host:port (default port 6379), never a node of a monitored cluster: every
 * cluster's scope excludes it (src/cluster/scope.ts). Undefined for a URL that does not parse
 * (the job system refuses it with its own message).
 */
export function queueRedisAddress(redisUrl: string): string | undefined {
  try {
    const url = new URL(redisUrl);
    if (!/^rediss?:$/.test(url.protocol) || !url.hostname) return undefined;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port ? Number(url.port) : 6379;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  } catch {
    return undefined;
  }
}
