// Runs the monitor's cluster work (probe-tasks.ts: the light probe of every poll, the full
// diagnosis of a deep check or an open incident) on a worker thread, so that a big cluster's
// poll (a 1000-node cluster: a thousand connections, 126 MB of replies, a million lines parsed)
// never holds up the event loop that acknowledges Slack. Only the small results come back.
//
// One thread per process, shared by every monitor in it, started on first use and started again
// after it dies. If a thread cannot start (a build without the worker's file, a module that fails
// to load), the work runs on the calling thread as before, from then on, and that is logged once.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { MAX_DISCOVERY_ROUNDS, OPEN_SLOT_RECOUNT_MS } from '../cluster/collect-snapshot';
import { type ErrorCode, errorMessage, RedisMedicError } from '../errors';
import type { Logger } from '../logging/logger';
import type { LastKnownKeys, LastKnownLookup } from '../repair/types';
import {
  type DiagnosisRequest,
  type DiagnosisResult,
  type LightProbeRequest,
  type LightProbeResult,
  runDiagnosis,
  runLightProbe,
} from './probe-tasks';

export type ProbeTask = { kind: 'light'; request: LightProbeRequest } | { kind: 'diagnose'; request: DiagnosisRequest };

/** Messages to the thread: a task, or the answer to its question about key history. */
export type ToProbeThread =
  | { type: 'task'; id: number; task: ProbeTask }
  | { type: 'last-known'; askId: number; found?: Array<[string, LastKnownKeys]>; error?: string };

/** Messages from the thread: a task's outcome, or a question about key history for one. */
export type FromProbeThread =
  | { type: 'ready' }
  | { type: 'done'; id: number; result?: LightProbeResult | DiagnosisResult; error?: { message: string; code?: ErrorCode } }
  | { type: 'last-known'; id: number; askId: number; nodeIds: string[] };

/**
 * The thread's heap limit. A 1000-node diagnosis peaks near 400 MB; what the read caps let
 * through cannot need much more. Past it the thread dies (its tasks fail and say why), not the
 * process that acks Slack.
 */
const THREAD_HEAP_MB = 1536;
/** On top of the network's own bounds: the thread's start, a big cluster's parse and model, the trip back. */
const DEADLINE_SLACK_MS = 30_000;

type TaskResult = LightProbeResult | DiagnosisResult;

interface Pending {
  resolve(result: TaskResult): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  lastKnown?: LastKnownLookup;
  /** The same task on the calling thread, for when the thread cannot start. */
  here(): Promise<TaskResult>;
  logger: Logger;
}

interface ProbeThread {
  worker: Worker;
  pending: Map<number, Pending>;
  /** The worker loaded its modules and listens (until then a failure means it cannot start). */
  ready: boolean;
  /** Stopped on purpose (deadline, shutdown): its exit is no failure to start. */
  stopped: boolean;
}

let thread: ProbeThread | null = null;
let nextId = 1;
/** Why no thread could start, once one could not: the work then runs in place. */
let unavailable: string | null = null;

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

/** Stop the shared thread (tasks in flight fail with `reason`); the next task starts a new one. */
export async function stopProbeThread(reason = 'probe thread stopped'): Promise<void> {
  if (thread) await stopThread(thread, new Error(reason));
}

function onThread(task: ProbeTask, logger: Logger, here: () => Promise<TaskResult>, lastKnown?: LastKnownLookup): Promise<TaskResult> {
  if (unavailable !== null) return here();
  let current: ProbeThread;
  try {
    current = thread ?? startThread();
  } catch (err) {
    cannotStart(errorMessage(err), logger);
    return here();
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const deadlineMs = deadlineOf(task);
    // Collection always ends within its timeouts: a thread that does not answer by then is stuck
    // (or its event loop is). It is stopped, and the next task gets a fresh one.
    const timer = setTimeout(() => {
      void stopThread(current, new Error(`probe thread did not answer within ${deadlineMs} ms; it was restarted`));
    }, deadlineMs);
    current.pending.set(id, { resolve, reject, timer, here, logger, ...(lastKnown ? { lastKnown } : {}) });
    // A thread with work in flight keeps the process alive; an idle one does not.
    current.worker.ref();
    post(current, { type: 'task', id, task });
  });
}

function post(current: ProbeThread, message: ToProbeThread): void {
  current.worker.postMessage(message);
}

function startThread(): ProbeThread {
  const worker = new Worker(workerEntry(), { execArgv: workerExecArgv(), resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB } });
  const current: ProbeThread = { worker, pending: new Map(), ready: false, stopped: false };
  worker.unref();
  worker.on('message', (message: FromProbeThread) => {
    if (message.type === 'ready') {
      current.ready = true;
      return;
    }
    const pending = current.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'last-known') {
      answerLastKnown(current, pending, message.askId, message.nodeIds);
      return;
    }
    current.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (current.pending.size === 0) worker.unref();
    if (message.result) pending.resolve(message.result);
    else pending.reject(rebuiltError(message.error));
  });
  worker.on('error', (err) => {
    if (!current.ready && !current.stopped) failedToStart(current, errorMessage(err));
    else void stopThread(current, new Error(`probe thread failed: ${errorMessage(err)}`));
  });
  worker.on('exit', (code) => {
    if (!current.ready && !current.stopped) failedToStart(current, `it exited (code ${code}) before it was ready`);
    else void stopThread(current, new Error(`probe thread exited (code ${code})`));
  });
  thread = current;
  return current;
}

function answerLastKnown(current: ProbeThread, pending: Pending, askId: number, nodeIds: string[]): void {
  const lookup = pending.lastKnown;
  if (!lookup) {
    post(current, { type: 'last-known', askId, found: [] });
    return;
  }
  lookup(nodeIds).then(
    (found) => post(current, { type: 'last-known', askId, found: [...found] }),
    (err: unknown) => post(current, { type: 'last-known', askId, error: errorMessage(err) }),
  );
}

/** A thread that died before it was ready will not do better next time: its work, and all later work, runs in place. */
function failedToStart(current: ProbeThread, why: string): void {
  if (thread === current) thread = null;
  const waiting = [...current.pending.values()];
  current.pending.clear();
  if (waiting[0]) cannotStart(why, waiting[0].logger);
  else unavailable ??= why;
  for (const pending of waiting) {
    clearTimeout(pending.timer);
    pending.here().then(pending.resolve, pending.reject);
  }
}

function cannotStart(why: string, logger: Logger): void {
  if (unavailable !== null) return;
  unavailable = why;
  logger.warn({ err: why }, 'probe thread could not start: cluster probes run on the main thread');
}

/** The thread's error as the caller would have seen it here: a RedisMedicError keeps its code. */
function rebuiltError(error: { message: string; code?: ErrorCode } | undefined): Error {
  if (!error) return new Error('probe task failed');
  return error.code ? new RedisMedicError(error.code, error.message) : new Error(error.message);
}

async function stopThread(current: ProbeThread, reason: Error): Promise<void> {
  if (thread === current) thread = null;
  current.stopped = true;
  for (const pending of current.pending.values()) {
    clearTimeout(pending.timer);
    pending.reject(reason);
  }
  current.pending.clear();
  await current.worker.terminate();
}

/** As long as the task's network work can take (each round bounded by its timeouts), plus slack. */
function deadlineOf(task: ProbeTask): number {
  const { connectMs, commandMs } = task.request.config.timeouts;
  const round = connectMs + commandMs + 250;
  // A diagnosis adds the bus-port checks, the open-slot counts (twice, apart) and the orphan-slot counts.
  const rounds = task.kind === 'light' ? MAX_DISCOVERY_ROUNDS : MAX_DISCOVERY_ROUNDS + 4;
  return rounds * round + (task.kind === 'light' ? 0 : OPEN_SLOT_RECOUNT_MS) + DEADLINE_SLACK_MS;
}

/** The compiled worker next to this file, or in a source checkout (tests, tsx) the TypeScript one. */
function workerEntry(): string {
  return entryOverride ?? path.join(__dirname, `probe-worker${path.extname(__filename)}`);
}

let entryOverride: string | null = null;

/**
 * For tests: start the next thread from another entry file (one that cannot load shows the
 * fallback), or the real one again with null. A thread already running is stopped first, and the
 * memory that threads cannot start is cleared.
 */
export async function useProbeWorkerEntry(entry: string | null): Promise<void> {
  await stopProbeThread();
  entryOverride = entry;
  unavailable = null;
}

/**
 * Running from TypeScript sources, the thread loads them through tsx's CommonJS hook, and only
 * that: with this process's `--import tsx` as well, Node 20 loads a worker's .ts entry as an ES
 * module and refuses its extension.
 */
function workerExecArgv(): string[] {
  if (path.extname(__filename) !== '.ts') return process.execArgv;
  return ['--require', require.resolve('tsx/cjs')];
}
