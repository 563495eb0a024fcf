// Runs the monitor's cluster work (probe-tasks.ts: the light probe of every poll, the full
// diagnosis of a deep check or an open incident) on a worker thread, so that a big cluster's
// poll (a 1000-node cluster: a thousand connections, 126 MB of replies, a million lines parsed)
// never holds up the event loop that acknowledges Slack. Only the small results come back.
//
// One thread per process, shared by every monitor in it, started on first use.
//  - Collection bounds every node by its own timeouts, so a task needs no deadline of its own. A
//    heartbeat watches the thread's event loop instead: one that does not answer for 30 s is
//    stuck, and is replaced.
//  - A thread that dies (crash, its heap cap, stuck) is replaced, and each task that was in flight
//    on it is run once more on the new one: the other clusters' polls are not lost with the task
//    that killed it. A task that was already retried fails, saying why.
//  - A thread that cannot start (a build without the worker's file, a module that fails to load)
//    leaves the work to the calling thread, as before this thread existed, for a minute; then a
//    thread is tried again. Each failure is logged.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ErrorCode, errorMessage, RedisMedicError } from '../errors';
import type { Logger } from '../logging/logger';
import type { LastKnownKeys, LastKnownLookup } from '../repair/types';
import {
  closeConnectionPools,
  type DiagnosisRequest,
  type DiagnosisResult,
  type LightProbeRequest,
  type LightProbeResult,
  probeTarget,
  runDiagnosis,
  runLightProbe,
} from './probe-tasks';

export type ProbeTask = { kind: 'light'; request: LightProbeRequest } | { kind: 'diagnose'; request: DiagnosisRequest };

/** Messages to the thread: a task, the answer to its question about key history, a heartbeat. */
export type ToProbeThread =
  | { type: 'task'; id: number; task: ProbeTask }
  | { type: 'last-known'; askId: number; found?: Array<[string, LastKnownKeys]>; error?: string }
  | { type: 'ping' };

/** Messages from the thread: ready, a heartbeat, a task's outcome, or a question about key history. */
export type FromProbeThread =
  | { type: 'ready' }
  | { type: 'pong' }
  | { type: 'done'; id: number; result?: TaskResult; error?: { message: string; code?: ErrorCode } }
  | { type: 'last-known'; id: number; askId: number; nodeIds: string[] };

type TaskResult = LightProbeResult | DiagnosisResult;

const HEARTBEAT_MS = 2_000;
/** A thread whose event loop has not answered for this long is stuck (collection slices its work in ~10 ms turns). */
const STUCK_AFTER_MS = 30_000;
/** After a thread could not start, the work runs in place this long before a thread is tried again. */
const RETRY_START_AFTER_MS = 60_000;
/** The thread's heap cap without a container limit: a 1000-node diagnosis peaks near 330 MB (the CLI). */
const THREAD_HEAP_MB = 1536;

interface Pending {
  task: ProbeTask;
  startedAt: number;
  /** Run once more after the thread it was on died. */
  retried: boolean;
  resolve(result: TaskResult): void;
  reject(err: Error): void;
  lastKnown?: LastKnownLookup;
  /** The same task on the calling thread, for when no thread can start. */
  here(): Promise<TaskResult>;
  logger: Logger;
}

interface ProbeThread {
  worker: Worker;
  pending: Map<number, Pending>;
  /** The worker loaded its modules and listens (until then a failure means it cannot start). */
  ready: boolean;
  /** Stopped on purpose (shutdown, replaced): its exit is expected. */
  stopped: boolean;
  lastSign: number;
  heartbeat: NodeJS.Timeout;
}

let thread: ProbeThread | null = null;
let nextId = 1;
/** While a thread could not start: until when the work runs in place. */
let inPlaceUntil = 0;
let entryOverride: string | null = null;
let stuckAfterMs = STUCK_AFTER_MS;

/** The light probe of one poll, on the probe thread. */
export function lightProbe(request: LightProbeRequest, logger: Logger): Promise<LightProbeResult> {
  return onThread({ kind: 'light', request }, logger, () => runLightProbe(request)) as Promise<LightProbeResult>;
}

/**
 * A full diagnosis (collect, model, rules, plans), on the probe thread; `lastKnown` is asked
 * from this thread (it reads the queue Redis). Errors keep their code (NoSeedAnswered...).
 */
export function diagnoseOnProbeThread(request: DiagnosisRequest, lastKnown: LastKnownLookup, logger: Logger): Promise<DiagnosisResult> {
  return onThread({ kind: 'diagnose', request }, logger, () => runDiagnosis(request, lastKnown), lastKnown) as Promise<DiagnosisResult>;
}

/** Stop the shared thread; tasks in flight fail with `reason`. The next task starts a new thread. */
export async function stopProbeThread(reason = 'probe thread stopped'): Promise<void> {
  // Connections kept by work that ran here (no thread could start); a thread's go with it.
  closeConnectionPools();
  if (!thread) return;
  const { waiting, terminated } = retire(thread);
  for (const pending of waiting) pending.reject(new Error(reason));
  await terminated;
}

/** Take a thread out of service: no new work, no heartbeat, terminated; returns the tasks it had. */
function retire(current: ProbeThread): { waiting: Pending[]; terminated: Promise<unknown> } {
  current.stopped = true;
  if (thread === current) thread = null;
  clearInterval(current.heartbeat);
  const waiting = [...current.pending.values()];
  current.pending.clear();
  return { waiting, terminated: current.worker.terminate() };
}

/**
 * For tests: start the next thread from another entry file (one that cannot load shows the
 * fallback; one that never answers, the watchdog), or the real one again with null. A running
 * thread is stopped first, and a pause after a failed start is forgotten.
 */
export async function useProbeWorkerEntry(entry: string | null, options: { stuckAfterMs?: number } = {}): Promise<void> {
  await stopProbeThread();
  entryOverride = entry;
  stuckAfterMs = options.stuckAfterMs ?? STUCK_AFTER_MS;
  inPlaceUntil = 0;
}

function onThread(task: ProbeTask, logger: Logger, here: () => Promise<TaskResult>, lastKnown?: LastKnownLookup): Promise<TaskResult> {
  return new Promise((resolve, reject) => {
    const pending: Pending = {
      task,
      startedAt: Date.now(),
      retried: false,
      resolve,
      reject,
      here,
      logger,
      ...(lastKnown ? { lastKnown } : {}),
    };
    dispatch(pending);
  });
}

/** Hand a task to the current thread (starting one if needed), or run it in place when none can start. */
function dispatch(pending: Pending): void {
  if (Date.now() < inPlaceUntil) {
    pending.here().then(pending.resolve, pending.reject);
    return;
  }
  let current: ProbeThread;
  try {
    current = thread ?? startThread();
  } catch (err) {
    // A synchronous refusal (bad options, no threads in this build of Node): no thread for a while.
    failedToStartWith(errorMessage(err), [pending]);
    return;
  }
  const id = nextId++;
  current.pending.set(id, pending);
  // A thread with work in flight keeps the process alive; an idle one does not.
  current.worker.ref();
  try {
    current.worker.postMessage({ type: 'task', id, task: crossing(pending.task) } satisfies ToProbeThread);
  } catch (err) {
    // Not cloneable, or the thread is gone: this task fails alone.
    current.pending.delete(id);
    if (current.pending.size === 0) current.worker.unref();
    pending.reject(new Error(`could not hand the ${taskName(pending)} to the probe thread: ${errorMessage(err)}`));
  }
}

/**
 * What of a task crosses to the thread: the cluster's collection config (where its nodes may be,
 * how to log in) and the timeouts and read caps, never the rest of the config (Slack and paging
 * secrets, approvers), whatever the caller passed.
 */
function crossing(task: ProbeTask): ProbeTask {
  const { timeouts, collection } = task.request.config;
  const config = { timeouts, ...(collection ? { collection } : {}) };
  return { ...task, request: { ...task.request, cluster: probeTarget(task.request.cluster), config } } as ProbeTask;
}

function startThread(): ProbeThread {
  const ts = path.extname(__filename) === '.ts';
  const worker = new Worker(entryOverride ?? path.join(__dirname, `probe-worker${path.extname(__filename)}`), {
    // Running from TypeScript sources, the thread loads them through tsx's CommonJS hook, and only
    // that (with this process's `--import tsx` as well, Node 20 loads a worker's .ts entry as an
    // ES module and refuses its extension). Compiled, the thread inherits this process's flags:
    // passed explicitly, Node refuses common ones (--max-old-space-size) for a worker.
    ...(ts ? { execArgv: ['--require', require.resolve('tsx/cjs')] } : {}),
    resourceLimits: { maxOldGenerationSizeMb: threadHeapMb() },
  });
  const current: ProbeThread = {
    worker,
    pending: new Map(),
    ready: false,
    stopped: false,
    lastSign: Date.now(),
    heartbeat: setInterval(() => watch(current), Math.min(HEARTBEAT_MS, stuckAfterMs / 3)),
  };
  current.heartbeat.unref();
  worker.unref();
  worker.on('message', (message: FromProbeThread) => onMessage(current, message));
  worker.on('error', (err) => died(current, `it failed: ${errorMessage(err)}`));
  worker.on('exit', (code) => died(current, `it exited (code ${code})`));
  thread = current;
  return current;
}

function onMessage(current: ProbeThread, message: FromProbeThread): void {
  current.lastSign = Date.now();
  if (message.type === 'ready') current.ready = true;
  if (message.type !== 'done' && message.type !== 'last-known') return;
  const pending = current.pending.get(message.id);
  if (!pending) return;
  if (message.type === 'last-known') {
    answerLastKnown(current, pending, message.askId, message.nodeIds);
    return;
  }
  current.pending.delete(message.id);
  if (current.pending.size === 0) current.worker.unref();
  if (message.result) pending.resolve(message.result);
  else pending.reject(rebuiltError(message.error));
}

function watch(current: ProbeThread): void {
  const silentMs = Date.now() - current.lastSign;
  if (silentMs > stuckAfterMs) {
    died(current, `its event loop did not answer for ${Math.round(silentMs / 1000)} s (stuck)`);
    return;
  }
  try {
    current.worker.postMessage({ type: 'ping' } satisfies ToProbeThread);
  } catch {
    // A thread on its way out: its exit event says so.
  }
}

/** The thread is gone (or must go): replace it, and give its tasks one more run. */
function died(current: ProbeThread, why: string): void {
  if (current.stopped) return;
  const { waiting } = retire(current);
  if (!current.ready) {
    failedToStartWith(why, waiting);
    return;
  }
  const logger = waiting[0]?.logger;
  logger?.error(
    {
      reason: why,
      threadId: current.worker.threadId,
      inFlight: waiting.map((p) => ({ task: taskName(p), ageMs: Date.now() - p.startedAt })),
    },
    `probe thread stopped: ${why}; ${waiting.length} task(s) in flight ${waiting.length ? 'run once more on a new thread' : ''}`.trim(),
  );
  for (const pending of waiting) {
    if (pending.retried) {
      pending.reject(new Error(`the ${taskName(pending)} failed twice: the probe thread stopped (${why}) while it ran, both times`));
    } else {
      pending.retried = true;
      dispatch(pending);
    }
  }
}

/** No thread could start: the work runs in place for a while (each failure is logged). */
function failedToStartWith(why: string, waiting: Pending[]): void {
  inPlaceUntil = Date.now() + RETRY_START_AFTER_MS;
  waiting[0]?.logger.warn(
    { error: why, retryInMs: RETRY_START_AFTER_MS },
    `probe thread could not start (${why}): cluster probes run on the main thread for ${RETRY_START_AFTER_MS / 1000} s`,
  );
  for (const pending of waiting) pending.here().then(pending.resolve, pending.reject);
}

function answerLastKnown(current: ProbeThread, pending: Pending, askId: number, nodeIds: string[]): void {
  const reply = (message: ToProbeThread): void => {
    try {
      current.worker.postMessage(message);
    } catch {
      // The thread is gone; its task is retried or failed by `died`.
    }
  };
  if (!pending.lastKnown) {
    reply({ type: 'last-known', askId, found: [] });
    return;
  }
  pending.lastKnown(nodeIds).then(
    (found) => reply({ type: 'last-known', askId, found: [...found] }),
    (err: unknown) => reply({ type: 'last-known', askId, error: errorMessage(err) }),
  );
}

/** The thread's error as the caller would have seen it here: a RedisMedicError keeps its code. */
function rebuiltError(error: { message: string; code?: ErrorCode } | undefined): Error {
  if (!error) return new Error('probe task failed');
  return error.code ? new RedisMedicError(error.code, error.message) : new Error(error.message);
}

function taskName(pending: Pending): string {
  return `${pending.task.kind === 'light' ? 'light probe' : 'diagnosis'} of ${pending.task.request.cluster.name}`;
}

/**
 * The thread's heap cap. In a container with a memory limit, half of it: a probe past that ends
 * the thread (its poll fails and the log says why), before the container's limit kills the pod.
 */
function threadHeapMb(): number {
  const limit = process.constrainedMemory?.();
  // Without a limit Node reports 0, or a number as large as the address space.
  if (!limit || limit > 2 ** 50) return THREAD_HEAP_MB;
  return Math.max(64, Math.min(THREAD_HEAP_MB, Math.floor(limit / 2 / 2 ** 20)));
}
