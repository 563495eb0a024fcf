// CPU-bound core work written as generators (each `yield` marks where it may pause), run either to
// the end at once or in slices with turns of the event loop between them, so a process that also
// acks Slack is not blocked for the whole of a big cluster.

/** One turn of the event loop (timers, I/O callbacks, then this). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs the steps to the end without pausing (the CLI, pastes, fixtures). */
export function runSteps<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** The same result, with a turn of the event loop once about `sliceMs` of work ran since the last one. */
export async function runStepsInTurns<T>(steps: Generator<void, T, void>, sliceMs: number): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
}

/**
 * Runs the work it is given one piece after another, and lets the event loop take a turn (timers,
 * I/O) before a piece once about `sliceMs` of work ran since the last turn.
 */
export function slicedWork(sliceMs = 10): <T>(work: () => T) => Promise<T> {
  let sliceStart = performance.now();
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(work: () => T): Promise<T> => {
    const run = chain.then(async () => {
      if (performance.now() - sliceStart >= sliceMs) {
        await nextTurn();
        sliceStart = performance.now();
      }
      return work();
    });
    chain = run.catch(() => undefined);
    return run;
  };
}
