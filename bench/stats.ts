// Small timing helpers shared by the benches.
import { performance } from 'node:perf_hooks';

/** Run `fn` `times` times (after `warmup` runs, one by default) and return each duration in ms. */
export async function timeIt(times: number, fn: () => Promise<void> | void, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? NaN;
}

export function median(samples: number[]): number {
  return percentile(samples, 50);
}

/**
 * Time two contenders alternately (a, b, a, b...) after `warmup` rounds each, so a noisy
 * neighbour slows both alike and neither is measured cold while the other is warm.
 */
export async function timeInterleaved(
  rounds: number,
  warmup: number,
  a: () => Promise<void>,
  b: () => Promise<void>,
): Promise<[number[], number[]]> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let start = performance.now();
    await a();
    as.push(performance.now() - start);
    start = performance.now();
    await b();
    bs.push(performance.now() - start);
  }
  return [as, bs];
}
