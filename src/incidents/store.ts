// Incident state, node history and the risk digest gate, in the queue Redis. Several monitor
// processes share it: an incident is created with SET NX and changed only by compare-and-set,
// so two processes that saw the same outage still make one incident, one root message and one
// reply per change.
import type { Redis } from 'ioredis';
import { comparableAddr } from '../cluster/address';
import { isNodeId } from '../cluster/parse-nodes';
import type { SlotRange } from '../cluster/slots';
import type { LastKnownKeys, LastKnownLookup } from '../repair/types';
import type { FixUsed, NodeState } from './assess';
import type { Delivery, FixMessage, ThreadNote } from './incident-publisher';
import { queueKeys } from '../queue-keys';

export interface IncidentPoll {
  at: number;
  healthy: boolean;
  verdict?: string;
}

export interface IncidentRecord {
  id: string;
  cluster: string;
  openedAt: number;
  /** `monitor`, or `alert:<source>`. */
  openedBy: string;
  /** Human words for the root message: "the monitor", "alertmanager: RedisClusterDown". */
  detectedBy: string;
  /** Where the root message is (null: Slack not configured for this cluster). */
  channel: string | null;
  rootTs: string | null;
  /**
   * A root post was tried and its outcome is unknown (a timeout: Slack may have posted it). The
   * channel's history is read before posting again: one root per incident.
   */
  rootUncertain: boolean;
  /** A new record: look in the channel for an open root of ours first (the queue Redis may have lost the record). */
  adoptCheck: boolean;
  /** Signature of the findings whose diagnosis LANDED in the thread (set only after it did). */
  findingsSignature: string;
  /** Signature of what the root message shows now (as last delivered). */
  rootSignature: string;
  cause: { code: string; title: string } | null;
  /** Healthy polls in a row, and when the last one was counted. */
  healthyPolls: number;
  healthySince: number | null;
  lastCountedAt: number | null;
  lastPollAt: number;
  /** The most recent polls, newest last (bounded). */
  polls: IncidentPoll[];
  /** How often it broke again within the reopen window after being resolved (same thread). */
  flaps: number;
  /**
   * Set once healthy for long enough. The record stays until the resolution is announced in
   * Slack, then moves to the resolved list; breaking again before that reopens it.
   */
  resolvedAt: number | null;
  fix: FixUsed | null;
  /** The thread's current fix message (its buttons), as delivered. */
  fixes: FixMessage | null;
  /** A fix message superseded by a newer diagnosis, still to be stripped of its buttons. */
  retire: FixMessage | null;
  /** A diagnosis reply being delivered: its findings signature and how far it got. */
  reply: (Delivery & { signature: string }) | null;
  /** Notes for the thread (reopened, adopted, alerts, resolved), posted in order after the root. */
  notes: PendingNote[];
  /** The alerts noted in the thread so far, by alert key: the last status noted (each is noted once per status). */
  alerts: Record<string, 'firing' | 'resolved'>;
  /** Sequence for delivery keys (unique per incident). */
  seq: number;
  /** One process delivers to Slack at a time: its token and when it last made progress. */
  delivering: { token: string; at: number } | null;
  /** Slack rate-limited us: no Slack call for this incident before then. */
  slackNotBefore: number | null;
  /** The cluster was silenced while this incident was present: until when, by whom, why (shown in the root). */
  silenced: SilenceNote | null;
}

export interface SilenceNote {
  until: number;
  by: string;
  reason: string | null;
  source: 'command' | 'maintenance';
}

export interface PendingNote {
  note: ThreadNote;
  key: string;
  uncertain: boolean;
}

type RecordDefaults = Omit<
  IncidentRecord,
  | 'id'
  | 'cluster'
  | 'openedAt'
  | 'openedBy'
  | 'detectedBy'
  | 'channel'
  | 'rootTs'
  | 'findingsSignature'
  | 'rootSignature'
  | 'cause'
  | 'healthyPolls'
  | 'healthySince'
  | 'lastCountedAt'
  | 'lastPollAt'
  | 'polls'
>;

/**
 * Fields added after the first release: records written by an older version get these, and a new
 * incident starts with them. A fresh object each time: no two records share a list.
 */
function recordDefaults(): RecordDefaults {
  return {
    rootUncertain: false,
    adoptCheck: false,
    flaps: 0,
    resolvedAt: null,
    fix: null,
    fixes: null,
    retire: null,
    reply: null,
    notes: [],
    alerts: {},
    seq: 0,
    delivering: null,
    slackNotBefore: null,
    silenced: null,
  };
}

function normalize(record: IncidentRecord): IncidentRecord {
  return { ...recordDefaults(), ...record };
}

/** A new incident: what the opening poll knows, every other field at its default. */
export function newIncidentRecord(fields: Omit<IncidentRecord, keyof RecordDefaults> & Partial<IncidentRecord>): IncidentRecord {
  return { ...recordDefaults(), ...fields };
}

export interface ResolvedIncident extends IncidentRecord {
  resolvedAt: number;
  durationMs: number;
}

/** A node's state for one stretch of polls with the same role and slots (`since` .. `at`). */
export interface NodeStateEntry extends NodeState {
  since: number;
}

export interface IncidentStoreOptions {
  /** Entries kept per node (each covers up to `historyBucketMs` of identical role and slots). */
  historyLength?: number;
  historyBucketMs?: number;
  /** Node history and known nodes expire when nothing was recorded for this long. */
  historyTtlMs?: number;
  resolvedKept?: number;
}

export const MAX_POLLS_KEPT = 50;
/** An open incident whose record was not touched for this long expires (a removed cluster). */
const INCIDENT_TTL_MS = 30 * 24 * 3600 * 1000;

// Compare-and-set on the whole JSON value: a writer that read an older value loses and re-reads.
const CAS_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

// Resolve = delete the open incident (if unchanged) and keep its record in the resolved list.
const RESOLVE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
return 1`;

export interface IncidentStore {
  readonly prefix: string;
  getIncident(cluster: string): Promise<{ record: IncidentRecord; raw: string } | null>;
  /** SET NX: true when this call created it, false when one was already open. */
  createIncident(record: IncidentRecord): Promise<boolean>;
  /** Compare-and-set against the raw value read before: false when someone changed it since. */
  replaceIncident(cluster: string, expectedRaw: string, next: IncidentRecord): Promise<boolean>;
  /** Compare-and-delete, keeping the resolved record: false when someone changed it since. */
  resolveIncident(cluster: string, expectedRaw: string, resolved: ResolvedIncident): Promise<boolean>;
  listResolved(cluster: string, count?: number): Promise<ResolvedIncident[]>;
  knownNodes(cluster: string): Promise<string[]>;
  setKnownNodes(cluster: string, addrs: string[]): Promise<void>;
  recordNodeStates(cluster: string, states: NodeState[]): Promise<void>;
  lastKnownNodeState(cluster: string, nodeAddrOrId: string, at?: number): Promise<NodeStateEntry | null>;
  /** Risk digest: true when this call may post now (none posted within `digestMs`). */
  claimRiskDigest(cluster: string, digestMs: number): Promise<boolean>;
  riskDigestPending(cluster: string): Promise<boolean>;
  /** Rate-limits the full diagnosis of a healthy cluster (faults the light probe cannot see, and risks). */
  claimDeepCheck(cluster: string, everyMs: number): Promise<boolean>;
  /** Every key of this cluster (tests and `forget cluster`). */
  keysOf(cluster: string): string[];
}

export function createIncidentStore(redis: Redis, prefix: string, options: IncidentStoreOptions = {}): IncidentStore {
  const historyLength = options.historyLength ?? 100;
  const bucketMs = options.historyBucketMs ?? 60_000;
  const historyTtlMs = options.historyTtlMs ?? 24 * 3600 * 1000;
  const resolvedKept = options.resolvedKept ?? 100;
  const keys = (cluster: string) => queueKeys(prefix).incidents(cluster);

  return {
    prefix,
    async getIncident(cluster) {
      const raw = await redis.get(keys(cluster).incident);
      if (raw === null) return null;
      return { record: normalize(JSON.parse(raw) as IncidentRecord), raw };
    },
    async createIncident(record) {
      const ok = await redis.set(keys(record.cluster).incident, JSON.stringify(record), 'PX', INCIDENT_TTL_MS, 'NX');
      return ok === 'OK';
    },
    async replaceIncident(cluster, expectedRaw, next) {
      const ok = await redis.eval(CAS_SCRIPT, 1, keys(cluster).incident, expectedRaw, JSON.stringify(next), String(INCIDENT_TTL_MS));
      return ok === 1;
    },
    async resolveIncident(cluster, expectedRaw, resolved) {
      const k = keys(cluster);
      const ok = await redis.eval(RESOLVE_SCRIPT, 2, k.incident, k.resolved, expectedRaw, JSON.stringify(resolved), String(resolvedKept));
      return ok === 1;
    },
    async listResolved(cluster, count = 20) {
      const raw = await redis.lrange(keys(cluster).resolved, 0, count - 1);
      return raw.map((r) => normalize(JSON.parse(r) as ResolvedIncident) as ResolvedIncident);
    },
    async knownNodes(cluster) {
      const raw = await redis.get(keys(cluster).known);
      if (!raw) return [];
      const parsed: unknown = JSON.parse(raw);
      return Array.isArray(parsed) ? parsed.filter((a): a is string => typeof a === 'string') : [];
    },
    async setKnownNodes(cluster, addrs) {
      await redis.set(keys(cluster).known, JSON.stringify(addrs), 'PX', historyTtlMs);
    },
    async recordNodeStates(cluster, states) {
      if (states.length === 0) return;
      const k = keys(cluster);
      const heads = await redis.pipeline(states.map((s) => ['lindex', k.node(s.id), '0'])).exec();
      const write = redis.pipeline();
      states.forEach((state, i) => {
        const headRaw = heads?.[i]?.[1];
        const head = typeof headRaw === 'string' ? (JSON.parse(headRaw) as NodeStateEntry) : null;
        // One entry per stretch of identical role and slots, at most bucketMs long: the history
        // covers hours instead of minutes, and the head always holds the latest poll.
        const sameStretch = head && state.at - head.since < bucketMs && sameShape(head, state);
        const entry: NodeStateEntry = { ...state, since: sameStretch ? head.since : state.at };
        if (sameStretch) write.lset(k.node(state.id), 0, JSON.stringify(entry));
        else write.lpush(k.node(state.id), JSON.stringify(entry)).ltrim(k.node(state.id), 0, historyLength - 1);
        write.pexpire(k.node(state.id), historyTtlMs);
        write.hset(k.nodeAddrs, comparableAddr(state.addr), state.id);
      });
      write.pexpire(k.nodeAddrs, historyTtlMs);
      await write.exec();
    },
    lastKnownNodeState(cluster, nodeAddrOrId, at) {
      return lastKnownNodeState(redis, prefix, cluster, nodeAddrOrId, at);
    },
    async claimRiskDigest(cluster, digestMs) {
      return (await redis.set(keys(cluster).riskDigest, '1', 'PX', digestMs, 'NX')) === 'OK';
    },
    async riskDigestPending(cluster) {
      return (await redis.exists(keys(cluster).riskDigest)) === 1;
    },
    async claimDeepCheck(cluster, everyMs) {
      return (await redis.set(keys(cluster).deepCheck, '1', 'PX', everyMs, 'NX')) === 'OK';
    },
    keysOf(cluster) {
      const k = keys(cluster);
      return [k.incident, k.resolved, k.known, k.nodeAddrs, k.riskDigest, k.deepCheck];
    },
  };
}

/**
 * What a node held the last time it answered (at or before `at`, default now): its slots and key
 * count. For repair plans about a node that is gone: "about 1,830 keys were on 10.0.0.32:6379 at
 * 03:21". `nodeAddrOrId` is a 40-hex node id, or `host:port` (the id last seen at that address).
 */
export async function lastKnownNodeState(
  redis: Redis,
  prefix: string,
  cluster: string,
  nodeAddrOrId: string,
  at = Number.POSITIVE_INFINITY,
): Promise<NodeStateEntry | null> {
  const k = queueKeys(prefix).incidents(cluster);
  const id = isNodeId(nodeAddrOrId) ? nodeAddrOrId : await redis.hget(k.nodeAddrs, comparableAddr(nodeAddrOrId));
  if (!id) return null;
  const entries = (await redis.lrange(k.node(id), 0, -1)).map((r) => JSON.parse(r) as NodeStateEntry);
  // Newest first: the first stretch that had begun by `at`. Its counts are from `entry.at`,
  // which may be up to one bucket after `at`: the caller names both times.
  return entries.find((e) => e.since <= at) ?? null;
}

function sameShape(a: { role: string; slots: SlotRange[]; addr: string }, b: { role: string; slots: SlotRange[]; addr: string }): boolean {
  return a.role === b.role && a.addr === b.addr && JSON.stringify(a.slots) === JSON.stringify(b.slots);
}

/**
 * The diagnosis side's view of the node history: for each node id, its last recorded key count
 * (while it was alive), so a plan can say what goes with a dead node's slots.
 */
export function lastKnownKeysLookup(redis: Redis, prefix: string, cluster: string): LastKnownLookup {
  return async (nodeIds) => {
    const found = new Map<string, LastKnownKeys>();
    await Promise.all(
      nodeIds.map(async (id) => {
        const entry = await lastKnownNodeState(redis, prefix, cluster, id);
        if (entry && entry.keys !== null) found.set(id, { addr: entry.addr, keys: entry.keys, at: new Date(entry.at).toISOString() });
      }),
    );
    return found;
  };
}
