import { parseClusterNodes } from '../cluster/parse-nodes';
import { errorMessage } from '../errors';
import { plural } from '../text';
import { ReplyTooLargeError, type NodeLinks } from './node-links';
import type { PlanStep } from './types';

export interface MoveKeysOptions {
  links: NodeLinks;
  /** The cluster's credentials: MIGRATE must authenticate to the receiving node itself. */
  auth: { username?: string; password?: string };
  /** Bound of each command besides MIGRATE (GETKEYSINSLOT, CLUSTER NODES). */
  commandTimeoutMs: number;
  /** True once the repair lock is lost: stop between batches. */
  stopped: () => boolean;
  /** After each batch (moved so far, batches so far). */
  onBatch?: (moved: number, batches: number) => void | Promise<void>;
  now?: () => number;
}

export interface MoveKeysResult {
  ok: boolean;
  reply: string;
  moved: number;
  batches: number;
}

/**
 * Run a plan's key move (`step.moveKeys`): read up to `batch` key names of the slot on the step's
 * node (CLUSTER GETKEYSINSLOT), MIGRATE them to the receiver, and repeat until the slot is empty
 * there. Key names are Buffers end to end (binary-safe). Each MIGRATE is bounded by its own
 * timeout plus the command timeout; a batch that returns the same keys again stops the move
 * (nothing moved: a loop would never end). A REPLACE move runs only while the source is MIGRATING
 * the slot to the receiver and the receiver IMPORTING it from the source, checked right before
 * the first batch: that is the state in which the source's copy is the one clients see.
 */
export async function moveSlotKeys(step: PlanStep, options: MoveKeysOptions): Promise<MoveKeysResult> {
  const move = step.moveKeys!;
  const now = options.now ?? Date.now;
  const started = now();
  const { links, commandTimeoutMs } = options;
  const [, host, port, , , timeout] = step.command;
  const receiver = host!.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const replace = step.command.some((a) => a.toUpperCase() === 'REPLACE');
  const template = step.command.slice(0, -1); // without the trailing KEYS
  const auth = options.auth.password
    ? options.auth.username
      ? ['AUTH2', options.auth.username, options.auth.password]
      : ['AUTH', options.auth.password]
    : [];
  const migrateTimeoutMs = Number(timeout) + commandTimeoutMs;
  let moved = 0;
  let batches = 0;
  const result = (ok: boolean, why?: string): MoveKeysResult => {
    const done = `moved ${plural(moved, 'key')} of slot ${move.slot} to ${receiver} in ${batches} batch${batches === 1 ? '' : 'es'} (${now() - started} ms)`;
    return { ok, moved, batches, reply: why ? `${why}; ${done}` : done };
  };

  try {
    if (replace) {
      const problem = await pairProblem(step.node, receiver, move.slot, move.to, links, commandTimeoutMs);
      if (problem) return result(false, `REPLACE refused: ${problem}`);
    }
    let previous: Buffer | undefined;
    // Key names count against the links' read cap like any answer: a batch of long names over it
    // is asked again at half the size (the link is dialled again), down to one name at a time.
    let batch = move.batch;
    for (;;) {
      if (options.stopped()) return result(false, 'stopped: the repair lock was lost');
      let reply: unknown;
      try {
        reply = await links.callBuffer(step.node, ['CLUSTER', 'GETKEYSINSLOT', String(move.slot), String(batch)], commandTimeoutMs);
      } catch (err) {
        if (!(err instanceof ReplyTooLargeError)) throw err;
        if (batch === 1)
          return result(
            false,
            `a key name in slot ${move.slot} is longer than the read cap (collection.maxReplyBytes, ${err.maxReplyBytes.toLocaleString('en-US')} bytes): raise it to move this slot`,
          );
        batch = Math.ceil(batch / 2);
        continue;
      }
      const keys = (Array.isArray(reply) ? reply : []).map((k) => (Buffer.isBuffer(k) ? k : Buffer.from(String(k))));
      if (keys.length === 0) return result(true);
      if (previous && keys[0]!.equals(previous)) return result(false, `no progress: ${step.node} still lists the same keys after MIGRATE`);
      previous = keys[0];
      const answer = await links.callBuffer(step.node, [...template, ...auth, 'KEYS', ...keys], migrateTimeoutMs);
      const text = Buffer.isBuffer(answer) ? answer.toString('utf8') : String(answer);
      if (text !== 'OK' && text !== 'NOKEY') return result(false, `MIGRATE answered ${text}`);
      batches++;
      if (text === 'OK') moved += keys.length;
      await options.onBatch?.(moved, batches);
    }
  } catch (err) {
    const message = errorMessage(err);
    const why = /BUSYKEY/.test(message)
      ? `${message}: a key of slot ${move.slot} exists on both ${step.node} and ${receiver}; the receiver's copy is the one clients see, so it is not replaced. Compare the two and delete the stale one by hand, then run the plan again`
      : message;
    return result(false, why);
  }
}

/** Why the slot is not MIGRATING from `source` to `receiverId` and IMPORTING on the receiver from it (null when it is). */
async function pairProblem(
  source: string,
  receiver: string,
  slot: number,
  receiverId: string,
  links: NodeLinks,
  timeoutMs: number,
): Promise<string | null> {
  const [sourceView, receiverView] = await Promise.all([
    links.text(source, ['CLUSTER', 'NODES'], timeoutMs),
    links.text(receiver, ['CLUSTER', 'NODES'], timeoutMs),
  ]);
  const me = parseClusterNodes(sourceView).find((l) => l.flags.includes('myself'));
  const them = parseClusterNodes(receiverView).find((l) => l.flags.includes('myself'));
  if (!me || !them) return 'a node did not show its own line in CLUSTER NODES';
  if (them.id !== receiverId) return `${receiver} is now ${them.id.slice(0, 8)}, not ${receiverId.slice(0, 8)}`;
  if (!me.migrating.some((m) => m.slot === slot && m.to === them.id)) return `${source} is not MIGRATING slot ${slot} to ${receiver}`;
  if (!them.importing.some((i) => i.slot === slot && i.from === me.id)) return `${receiver} is not IMPORTING slot ${slot} from ${source}`;
  return null;
}
