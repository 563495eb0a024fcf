// Entry of the monitor's probe thread (started by probe-thread.ts). Runs each task it is sent and
// answers with the result, or with the error's message and code. The key history a diagnosis
// reads lives in the queue Redis, which only the monitor's thread talks to: it is asked for it.
import { parentPort } from 'node:worker_threads';
import { errorMessage, isRedisMedicError } from '../errors';
import type { LastKnownKeys } from '../repair/types';
import { runDiagnosis, runLightProbe } from './probe-tasks';
import type { FromProbeThread, ToProbeThread } from './probe-thread';

const port = parentPort;
if (!port) throw new Error('probe-worker runs as a worker thread (see probe-thread.ts)');

function send(message: FromProbeThread): void {
  try {
    port!.postMessage(message);
  } catch (err) {
    // A result that cannot be cloned fails its task alone, not the thread (and every task on it).
    if (message.type === 'done' && !message.error)
      port!.postMessage({ type: 'done', id: message.id, error: { message: `its result could not be sent back: ${errorMessage(err)}` } });
    else throw err;
  }
}

/** Key-history questions in flight, by their id. */
const asked = new Map<number, { resolve(found: Map<string, LastKnownKeys>): void; reject(err: Error): void }>();
let nextAsk = 1;

port.on('message', (message: ToProbeThread) => {
  if (message.type === 'ping') {
    send({ type: 'pong' });
    return;
  }
  if (message.type === 'last-known') {
    const waiting = asked.get(message.askId);
    asked.delete(message.askId);
    if (message.error !== undefined) waiting?.reject(new Error(message.error));
    else waiting?.resolve(new Map(message.found));
    return;
  }
  const { id, task } = message;
  const run =
    task.kind === 'light'
      ? runLightProbe(task.request)
      : runDiagnosis(task.request, (nodeIds) => {
          const askId = nextAsk++;
          return new Promise((resolve, reject) => {
            asked.set(askId, { resolve, reject });
            send({ type: 'last-known', id, askId, nodeIds });
          });
        });
  run.then(
    (result) => send({ type: 'done', id, result }),
    (err: unknown) =>
      send({ type: 'done', id, error: { message: errorMessage(err), ...(isRedisMedicError(err) ? { code: err.code } : {}) } }),
  );
});

// Loaded and listening: from here on a failure of this thread is not a failure to start.
send({ type: 'ready' });
