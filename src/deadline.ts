/**
 * Settles as `work` does, or rejects with `timeoutError()` (by default `no answer within <ms> ms`)
 * once `ms` have passed, whichever comes first. The timer is cleared either way, so a finished
 * race never keeps the process alive.
 * `work` itself is not cancelled: callers that own a connection close it on timeout.
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  timeoutError = (): Error => new Error(`no answer within ${ms} ms`),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
