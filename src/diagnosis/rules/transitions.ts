// States a healthy cluster passes through: a failover under way, a replica's first sync or
// resync, a replica reconnecting, a resharding at work, a node joining. Each is named for what
// it is (severity info, category transition) with the evidence, the time it should be over by,
// and the bound past which it is a fault, so the bot never cries wolf over normal work.
import { comparableAddr } from '../../cluster/address';
import { formatRanges, toRanges } from '../../cluster/slots';
import type { ClusterNodeLine } from '../../cluster/types';
import { plural } from '../../text';
import { evidenceLine, label, openSlotKeys, slotOwningMasters, type ClusterModel, type ModelNode } from '../model';
import { formatSeconds, promotionSettings, whyNotPromoted } from '../promotion';
import type { Finding, TransitionTiming } from '../types';

/** Redis's default cluster-node-timeout, for the bounds when no node told us its own. */
const DEFAULT_NODE_TIMEOUT_MS = 15_000;
/** Redis's default repl-timeout (seconds): a sync that exchanges nothing this long is dropped by Redis. */
const DEFAULT_REPL_TIMEOUT_S = 60;
/** A replica link may be down this many node-timeouts (reconnecting) before it is a fault. */
export const RECONNECT_NODE_TIMEOUTS = 3;

// ---- a failover inside its window -----------------------------------------------------------

/**
 * How long Redis may take to fail over a master by itself, from the last time any node heard from
 * it: node-timeout until `fail?`, up to another node-timeout for a majority's reports to make it
 * `fail`, the election delay (500 ms + up to 500 ms random + 1 s per replica rank), and one round
 * of votes (max(2 x node-timeout, 2 s)). Measured on 7.0 with node-timeout 1000 ms: ok everywhere
 * about 2.4 s after the kill; this bound is 5 s.
 */
export function failoverWindowMs(nodeTimeoutMs: number, rank = 0): number {
  return 2 * nodeTimeoutMs + 1000 + rank * 1000 + Math.max(2 * nodeTimeoutMs, 2000);
}

/** The shorter estimate people are told: node-timeout plus the election delay. */
export function expectedFailoverMs(nodeTimeoutMs: number): number {
  return nodeTimeoutMs + 1000;
}

export interface FailoverWindow {
  /** Ms since a node last heard from the master (in that node's own clock), or null. */
  silentForMs: number | null;
  windowMs: number;
  /** Replicas Redis itself can promote (not nofailover, data young enough). */
  promotable: ModelNode[];
  inWindow: boolean;
  /** Why it is outside the window, in words (for the fault's detail). */
  why: string | null;
  /** The same as a code: callers branch on it. */
  reason: 'in-window' | 'quorum-lost' | 'no-promotable-replica' | 'no-majority-lost-it' | 'time-unknown' | 'window-passed';
}

/**
 * Whether a down master is still inside the window in which Redis fails it over by itself: it
 * has a replica Redis can promote, a majority of masters can vote, and it went silent less than
 * `failoverWindowMs` ago (CLUSTER NODES pong-recv against the viewer's own TIME).
 */
export function failoverWindow(model: ClusterModel, master: ModelNode, replicas: ModelNode[], lostQuorum: boolean): FailoverWindow {
  const settings = promotionSettings(model);
  const nodeTimeoutMs = settings.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;
  const windowMs = failoverWindowMs(nodeTimeoutMs);
  const promotable = replicas.filter((r) => whyNotPromoted(r, settings) === null);
  // Only the nodes that lost it count: a view still talking to it says nothing about its failure.
  const losing = model.views.filter((v) => {
    const line = v.lines.find((l) => l.id === master.id && !l.flags.includes('myself'));
    return line !== undefined && (line.flags.includes('fail') || line.flags.includes('fail?') || line.linkState === 'disconnected');
  });
  const silentForMs = silentFor(losing, master.id);
  const out = (reason: FailoverWindow['reason'], why: string | null): FailoverWindow => ({
    silentForMs,
    windowMs,
    promotable,
    inWindow: reason === 'in-window',
    why,
    reason,
  });
  if (lostQuorum) return out('quorum-lost', 'No majority of masters is alive to vote.');
  if (promotable.length === 0) return out('no-promotable-replica', null);
  // Redis fails a master over only once a majority of slot-owning masters lost it; a master the
  // others still reach is a partition (or redis-medic's own network problem), not a failover.
  const masters = slotOwningMasters(model).filter((m) => m.id !== master.id && m.health === 'up');
  const majority = Math.floor((masters.length + 1) / 2) + 1;
  const losingMasters = losing.filter((v) => v.myself && masters.some((m) => m.id === v.myself!.id)).length;
  if (losingMasters < majority && losing.length < model.views.length) {
    return out(
      'no-majority-lost-it',
      `Only ${losingMasters} of the ${masters.length + 1} slot-owning masters lost it: a failover needs a majority to agree (${majority}), so Redis will not start one.`,
    );
  }
  if (silentForMs === null)
    return out(
      'time-unknown',
      'How long it has been down cannot be read from the replies (no pong time or TIME), so redis-medic does not wait for Redis to fail it over.',
    );
  if (silentForMs < windowMs) return out('in-window', null);
  return out(
    'window-passed',
    `No node has heard from it for ${formatSeconds(silentForMs)}, longer than Redis takes to fail over by itself (${formatSeconds(windowMs)}): it will not do it by itself any more.`,
  );
}

/** The shortest time any of these views has gone without a pong from `id`, in its own clock. */
function silentFor(views: ClusterModel['views'], id: string): number | null {
  let best: number | null = null;
  for (const view of views) {
    const now = view.probe.replies?.timeMs;
    const line = view.lines.find((l) => l.id === id && !l.flags.includes('myself'));
    if (now === undefined || !line || line.pongRecv <= 0) continue;
    const age = Math.max(0, now - line.pongRecv);
    best = best === null ? age : Math.min(best, age);
  }
  return best;
}

/** The transition a down master with a promotable replica is in, inside its failover window. */
export function failoverInProgress(model: ClusterModel, master: ModelNode, window: FailoverWindow, evidence: string[]): Finding {
  const settings = promotionSettings(model);
  const nodeTimeoutMs = settings.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;
  const taken = Date.parse(model.snapshot.takenAt);
  const since = window.silentForMs === null ? null : new Date(taken - window.silentForMs).toISOString();
  const until = window.silentForMs === null ? null : new Date(taken - window.silentForMs + window.windowMs).toISOString();
  const names = window.promotable.map(label).join(', ');
  const flagged =
    master.flagged === 'fail'
      ? 'the cluster flags it `fail`'
      : master.flagged === 'pfail'
        ? 'the other nodes flag it `fail?`, not yet `fail`'
        : 'the other nodes lost their link to it, not yet flagged';
  const timing: TransitionTiming = {
    since,
    until,
    bound: `${formatSeconds(window.windowMs)} after the last pong (2 x node-timeout ${nodeTimeoutMs} ms to agree on the failure, up to 1 s election delay, one round of votes of max(2 x node-timeout, 2 s))`,
  };
  return {
    code: 'FAILOVER_IN_PROGRESS',
    severity: 'info',
    category: 'transition',
    title: `Failover under way: master ${master.addr} is down, ${window.promotable.length === 1 ? 'its replica' : 'a replica'} should take over by itself`,
    detail:
      `${label(master)} owns slots ${formatRanges(master.slots)} and ${flagged}` +
      (window.silentForMs === null ? '' : `; no node has heard from it for ${formatSeconds(window.silentForMs)}`) +
      '. ' +
      `${names} ${window.promotable.length === 1 ? 'replicates it and can' : 'replicate it and can'} be promoted by Redis itself (not nofailover, data recent enough, a majority of masters alive to vote). ` +
      `Redis is expected to fail over within about node-timeout plus the election delay (~${formatSeconds(expectedFailoverMs(nodeTimeoutMs))}); ` +
      `its slots are not served until then. Re-check in a few seconds. No plan gives its slots away meanwhile: ` +
      `if no replica has taken over ${until ? `by ${until.slice(11, 19)} UTC` : 'within the bound'} (${timing.bound}), it becomes REPLICA_NOT_PROMOTED and the plans come with the reason.`,
    evidence,
    nodes: [master.id, ...window.promotable.map((r) => r.id)],
    slots: master.slots,
    transition: timing,
  };
}

/** Masters inside their failover window (ids), from the report's findings: no plan may touch their slots. */
export function failoverPendingIds(findings: readonly Finding[]): Set<string> {
  return new Set(findings.filter((f) => f.code === 'FAILOVER_IN_PROGRESS').map((f) => f.nodes[0]!));
}

// ---- replica links: syncing, reconnecting, or broken -------------------------------------------

export type ReplicaLink =
  | { kind: 'up' }
  /** A full sync under way: the master lists it waiting for or receiving the data, or the replica is loading it. */
  | { kind: 'syncing'; phase: 'waiting' | 'transfer'; masterLine?: string; rejoined: boolean }
  /** Its link went down recently and Redis is reconnecting (every second). */
  | { kind: 'reconnecting'; downForS: number; boundS: number }
  /** Down, no sync under way, longer than the bound (or never up and not even pending). */
  | { kind: 'broken'; downForS: number | null; stalled?: { lastIoS: number; replTimeoutS: number } };

/**
 * What a replica's link to its live master is doing, from both sides' INFO replication: the
 * replica's `master_link_status`, `master_sync_in_progress`, `master_link_down_since_seconds`
 * and `master_sync_last_io_seconds_ago`, and the master's `slaveN:ip=..,port=..,state=..` line
 * (`wait_bgsave` / `send_bulk` while a full sync is pending or sent). Measured on 7.0: during
 * the first sync's repl-diskless-sync-delay the replica says only `master_link_status:down`,
 * `master_sync_in_progress:0`, `master_link_down_since_seconds:-1`; the master says
 * `state=wait_bgsave`. Only the master tells it apart from a replica that cannot connect.
 */
export function replicaLink(model: ClusterModel, replica: ModelNode): ReplicaLink | null {
  if (replica.role !== 'replica' || !replica.own || !replica.masterId) return null;
  const master = model.nodes.get(replica.masterId);
  if (master?.health !== 'up') return null;
  const info = replica.own.replication;
  if (info['master_link_status'] !== 'down') return { kind: 'up' };
  const entry = master.own ? replicaEntry(master, replica) : undefined;
  const inTransfer = info['master_sync_in_progress'] === '1';
  const replTimeoutS = numberOr(replica.own.config['repl-timeout'], DEFAULT_REPL_TIMEOUT_S);
  const lastIo = Number(info['master_sync_last_io_seconds_ago']);
  if (inTransfer && Number.isFinite(lastIo) && lastIo > replTimeoutS) {
    return { kind: 'broken', downForS: downFor(info), stalled: { lastIoS: lastIo, replTimeoutS } };
  }
  const pending = entry && ['wait_bgsave', 'send_bulk'].includes(entry.state);
  if (inTransfer || pending) {
    // The master took over in a failover (it keeps its old replication id as replid2) and this
    // replica never had a link since it started: most likely the old master, back as a replica.
    const promoted = (master.own?.replication['master_replid2'] ?? '').replace(/0/g, '') !== '';
    return {
      kind: 'syncing',
      phase: inTransfer || entry?.state === 'send_bulk' ? 'transfer' : 'waiting',
      ...(entry ? { masterLine: entry.raw } : {}),
      rejoined: promoted && downFor(info) === null,
    };
  }
  const down = downFor(info);
  const nodeTimeoutMs = numberOr(replica.own.config['cluster-node-timeout'], DEFAULT_NODE_TIMEOUT_MS);
  const boundS = Math.ceil((RECONNECT_NODE_TIMEOUTS * nodeTimeoutMs) / 1000);
  if (down !== null && down <= boundS) return { kind: 'reconnecting', downForS: down, boundS };
  return { kind: 'broken', downForS: down };
}

function downFor(info: Record<string, string>): number | null {
  const n = Number(info['master_link_down_since_seconds']);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

function numberOr(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return text !== undefined && text !== '' && Number.isFinite(n) && n >= 0 ? n : fallback;
}

interface ReplicaEntry {
  ip: string;
  port: number;
  state: string;
  raw: string;
}

/** The master's `slaveN:` line for this replica (matched by announced ip:port, or port alone when unique). */
function replicaEntry(master: ModelNode, replica: ModelNode): ReplicaEntry | undefined {
  const entries: ReplicaEntry[] = [];
  for (const [key, value] of Object.entries(master.own!.replication)) {
    if (!/^slave\d+$/.test(key)) continue;
    const fields = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    entries.push({ ip: fields['ip'] ?? '', port: Number(fields['port']), state: fields['state'] ?? '', raw: `${key}:${value}` });
  }
  const exact = entries.find((e) => comparableAddr(`${e.ip}:${e.port}`) === comparableAddr(replica.addr));
  if (exact) return exact;
  const byPort = entries.filter((e) => e.port === replica.port);
  return byPort.length === 1 ? byPort[0] : undefined;
}

export function replicaTransitions(model: ClusterModel): Finding[] {
  const findings: Finding[] = [];
  const taken = Date.parse(model.snapshot.takenAt);
  // Only replicas in a transition, by address (found first: sorting every node is most of the work).
  const inTransition = [...model.nodes.values()]
    .map((replica) => ({ replica, link: replicaLink(model, replica) }))
    .filter(({ link }) => link && (link.kind === 'syncing' || link.kind === 'reconnecting'))
    .sort((a, b) => a.replica.addr.localeCompare(b.replica.addr));
  for (const { replica, link } of inTransition) {
    if (!link || (link.kind !== 'syncing' && link.kind !== 'reconnecting')) continue;
    const master = model.nodes.get(replica.masterId!)!;
    const info = replica.own!.replication;
    const evidence = [
      evidenceLine(
        replica.addr,
        `master_link_status:${info['master_link_status']} master_sync_in_progress:${info['master_sync_in_progress'] ?? '?'} master_link_down_since_seconds:${info['master_link_down_since_seconds'] ?? '?'}`,
      ),
    ];
    if (link.kind === 'syncing') {
      if (link.masterLine) evidence.push(evidenceLine(master.addr, link.masterLine));
      const replTimeoutS = numberOr(replica.own!.config['repl-timeout'], DEFAULT_REPL_TIMEOUT_S);
      const delayS = master.own?.config['repl-diskless-sync'] === 'no' ? null : numberOr(master.own?.config['repl-diskless-sync-delay'], 5);
      const progress = link.phase === 'transfer' ? transferText(info) : '';
      const why = link.rejoined
        ? `${label(replica)} is back as a replica of ${label(master)}, which took over in a failover (its replication id moved to master_replid2): most likely the old master rejoining, and it must resync`
        : `${label(replica)} is doing a full sync from its master ${label(master)}: a new replica's first sync, or a resync after a restart`;
      findings.push({
        code: 'REPLICA_SYNCING',
        severity: 'info',
        category: 'transition',
        title: `Replica ${replica.addr} is ${link.rejoined ? 'rejoining and resyncing' : 'syncing'} from ${master.addr}`,
        detail:
          `${why}. ` +
          (link.phase === 'waiting'
            ? `The master lists it waiting for the data (state=wait_bgsave)${delayS !== null ? `: with diskless sync it waits repl-diskless-sync-delay (${delayS} s) for more replicas, then streams the data` : ': it is writing the RDB (BGSAVE) first'}. `
            : `The data is on its way${progress}. `) +
          `master_link_status is down until the sync completes: that is expected, not broken replication. It has no copy of the data yet, so it cannot take over if the master fails. ` +
          (replica.flagged
            ? `Some nodes still flag it \`${replica.flagged === 'fail' ? 'fail' : 'fail?'}\` from before it came back: each clears that at its next pong from it. `
            : '') +
          `Redis drops a sync that exchanges nothing for repl-timeout (${replTimeoutS} s) and starts over; if it is still not up at the next check, look at the master's log (fork, disk, network).`,
        evidence,
        nodes: [replica.id, master.id],
        slots: [],
        transition: {
          since: null,
          until: delayS !== null && link.phase === 'waiting' ? new Date(taken + (delayS + replTimeoutS) * 1000).toISOString() : null,
          bound: `no exchange for repl-timeout (${replTimeoutS} s) ends the sync; a sync that never completes is REPLICATION_BROKEN`,
        },
      });
    } else {
      findings.push({
        code: 'REPLICA_RECONNECTING',
        severity: 'info',
        category: 'transition',
        title: `Replica ${replica.addr} is reconnecting to ${master.addr}`,
        detail:
          `${label(replica)} lost its link to ${label(master)} ${link.downForS} s ago and Redis retries every second (a master restart or a network blip). ` +
          `It is a fault (REPLICATION_BROKEN) once the link stays down longer than ${RECONNECT_NODE_TIMEOUTS} x node-timeout (${link.boundS} s) without a sync under way.`,
        evidence,
        nodes: [replica.id, master.id],
        slots: [],
        transition: {
          since: new Date(taken - link.downForS * 1000).toISOString(),
          until: new Date(taken + (link.boundS - link.downForS) * 1000).toISOString(),
          bound: `${RECONNECT_NODE_TIMEOUTS} x node-timeout (${link.boundS} s) of link down`,
        },
      });
    }
  }
  return findings;
}

function transferText(info: Record<string, string>): string {
  const read = Number(info['master_sync_read_bytes']);
  const total = Number(info['master_sync_total_bytes']);
  if (Number.isFinite(read) && Number.isFinite(total) && total > 0)
    return `: ${read} of ${total} bytes (${Math.floor((100 * read) / total)}%)`;
  if (Number.isFinite(read) && read > 0) return `: ${read} bytes so far`;
  return '';
}

// ---- a resharding at work -------------------------------------------------------------------

const movingCache = new WeakMap<ClusterModel, Map<number, { moved: number; afterMs: number }>>();

/**
 * Open slots whose key counts changed between the two counts taken during collection (on either
 * end): keys are moving, so a resharding is at work on them. Computed once per model.
 */
export function movingSlots(model: ClusterModel): Map<number, { moved: number; afterMs: number }> {
  let out = movingCache.get(model);
  if (out) return out;
  out = new Map();
  for (const node of model.nodes.values()) {
    const later = node.own?.probe.replies?.openSlotKeysLater;
    if (!later) continue;
    for (const [slotText, after] of Object.entries(later.counts)) {
      const slot = Number(slotText);
      const before = openSlotKeys(node, slot);
      if (before === undefined || before === after) continue;
      const entry = out.get(slot) ?? { moved: 0, afterMs: later.afterMs };
      entry.moved = Math.max(entry.moved, Math.abs(before - after));
      out.set(slot, entry);
    }
  }
  movingCache.set(model, out);
  return out;
}

export function reshardingInProgress(model: ClusterModel): Finding[] {
  const moving = movingSlots(model);
  if (moving.size === 0) return [];
  const parts: string[] = [];
  const evidence: string[] = [];
  const nodes = new Set<string>();
  for (const view of model.views) {
    const me = view.myself;
    if (!me) continue;
    for (const { slot, to } of me.migrating) {
      const m = moving.get(slot);
      if (!m) continue;
      nodes.add(me.id).add(to);
      const target = model.nodes.get(to);
      const left =
        model.nodes.get(me.id)?.own?.probe.replies?.openSlotKeysLater?.counts[String(slot)] ?? openSlotKeys(model.nodes.get(me.id), slot);
      parts.push(
        `slot ${slot}: ${left ?? '?'} keys left on ${me.addr}, ${m.moved} moved to ${target?.addr ?? to.slice(0, 8)} within ${m.afterMs} ms`,
      );
      evidence.push(evidenceLine(me.addr, me.raw));
    }
  }
  const slots = toRanges(moving.keys());
  return [
    {
      code: 'RESHARDING_IN_PROGRESS',
      severity: 'info',
      category: 'transition',
      title: `Resharding in progress: ${plural(moving.size, 'slot')} moving`,
      detail:
        `Keys are moving while redis-medic looks (${parts.join('; ') || `slots ${formatRanges(slots)}`}): an operator's or a tool's resharding is at work. ` +
        'Clients get ASK redirects meanwhile, which cluster clients follow. The resharding closes each slot itself once its keys are moved; ' +
        'redis-medic offers no plan for these slots (closing a slot under a running resharding breaks it). ' +
        'If the keys stop moving with the slot still open, the resharding was interrupted: that is OPEN_SLOTS, with the plans to finish or undo it.',
      evidence: evidence.length ? evidence : [],
      nodes: [...nodes],
      slots,
      transition: { since: null, until: null, bound: 'as long as keys keep moving; an open slot whose keys do not move is OPEN_SLOTS' },
    },
  ];
}

// ---- a node joining --------------------------------------------------------------------------

const joiningCache = new WeakMap<ClusterModel, Map<string, string[]>>();

/**
 * Nodes being added right now: a live master that owns no slot and has not caught up with the
 * cluster yet (others list it in handshake, or its own view lacks members or their slots). Its
 * own `cluster_state:fail` and its different view are the join in progress, not a fault.
 * Computed once per model; the value is the evidence.
 */
export function joiningNodes(model: ClusterModel): Map<string, string[]> {
  let out = joiningCache.get(model);
  if (out) return out;
  out = new Map();
  // Every listed member, read only when some view could be a joining node (a slot-less master).
  let known: Map<string, ClusterNodeLine> | undefined;
  const membersOf = (): Map<string, ClusterNodeLine> => {
    if (known) return known;
    known = new Map<string, ClusterNodeLine>();
    for (const view of model.views) {
      for (const line of view.lines) {
        if (line.flags.includes('handshake') || line.flags.includes('myself')) continue;
        if (!known.has(line.id) || line.slots.length > 0) known.set(line.id, line);
      }
    }
    return known;
  };
  for (const view of model.views) {
    const me = view.myself;
    const node = me ? model.nodes.get(me.id) : undefined;
    if (!me || !node || !me.flags.includes('master') || node.slots.length > 0 || me.slots.length > 0) continue;
    const members = membersOf();
    const evidence: string[] = [];
    const handshakeByOthers = model.views.filter(
      (v) =>
        v !== view && v.lines.some((l) => l.flags.includes('handshake') && l.addr && comparableAddr(l.addr) === comparableAddr(me.addr)),
    );
    for (const v of handshakeByOthers.slice(0, 2))
      evidence.push(
        evidenceLine(
          v.myself?.addr ?? v.probe.addr,
          v.lines.find((l) => l.flags.includes('handshake') && comparableAddr(l.addr) === comparableAddr(me.addr))!.raw,
        ),
      );
    const known = new Set(view.lines.filter((l) => !l.flags.includes('handshake')).map((l) => l.id));
    const missing = [...members.keys()].filter((id) => id !== me.id && !known.has(id));
    const ownHandshakes = view.lines.filter((l) => l.flags.includes('handshake'));
    const slotless = view.lines.filter(
      (l) => l.flags.includes('master') && l.slots.length === 0 && (members.get(l.id)?.slots.length ?? 0) > 0,
    );
    if (missing.length)
      evidence.push(
        evidenceLine(
          me.addr,
          `knows ${known.size} nodes; not yet ${missing
            .map((id) => members.get(id)?.addr || id.slice(0, 8))
            .slice(0, 4)
            .join(', ')}`,
        ),
      );
    if (ownHandshakes.length) evidence.push(...ownHandshakes.slice(0, 2).map((l) => evidenceLine(me.addr, l.raw)));
    if (slotless.length) evidence.push(...slotless.slice(0, 2).map((l) => evidenceLine(me.addr, l.raw)));
    // The join's tail: it knows everyone and every slot, flags nobody, and still says fail. Redis
    // keeps a master that just reached the majority at cluster_state:fail for node-timeout
    // (clamped to 0.5-5 s) before it says ok (the rejoin delay in clusterUpdateState).
    const settling =
      view.info?.state === 'fail' &&
      !view.lines.some((l) => l.flags.includes('fail') || l.flags.includes('fail?')) &&
      model.views.some((v) => v !== view && v.info?.state === 'ok' && v.info.slotsAssigned === view.info?.slotsAssigned);
    // A join needs someone to have met it: a node that knows nobody and that nobody lists (one
    // restarted with an empty nodes.conf, a stray instance) is not joining, whatever it says.
    const met =
      handshakeByOthers.length > 0 ||
      ownHandshakes.length > 0 ||
      [...known].some((id) => id !== me.id && members.has(id)) ||
      model.views.some((v) => v !== view && v.lines.some((l) => l.id === me.id));
    const catchingUp =
      met && (handshakeByOthers.length > 0 || missing.length > 0 || ownHandshakes.length > 0 || slotless.length > 0 || settling);
    if (catchingUp && view.info?.state !== 'ok')
      evidence.push(
        evidenceLine(me.addr, `cluster_state:${view.info?.state ?? '?'} cluster_slots_assigned:${view.info?.slotsAssigned ?? '?'}`),
      );
    if (catchingUp) out.set(me.id, evidence);
  }
  joiningCache.set(model, out);
  return out;
}

export function nodeJoining(model: ClusterModel): Finding[] {
  const joining = joiningNodes(model);
  if (joining.size === 0) return [];
  const nodes = [...joining.keys()].map((id) => model.nodes.get(id)!).filter(Boolean);
  const nodeTimeoutMs = promotionSettings(model).nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;
  return [
    {
      code: 'NODE_JOINING',
      severity: 'info',
      category: 'transition',
      title: `${nodes.length === 1 ? `Node ${nodes[0]!.addr} is` : `${nodes.length} nodes are`} joining the cluster`,
      detail:
        `${nodes.map(label).join(', ')} ${nodes.length === 1 ? 'owns' : 'own'} no slot and ${nodes.length === 1 ? 'has' : 'have'} not caught up with the cluster yet (handshake, or members and slots not learnt): a node being added. ` +
        `Until it has, its own view differs and it says cluster_state:fail; the nodes already in the cluster serve every slot. ` +
        `Redis completes or drops a handshake within node-timeout (${formatSeconds(nodeTimeoutMs)}), spreads the slot table by gossip within a few more, ` +
        `and keeps a master that just joined at cluster_state:fail for node-timeout (0.5 to 5 s) after that; ` +
        'if the next check still shows it apart, check that its bus port is reachable both ways. Give it slots (redis-cli --cluster rebalance) or make it a replica (CLUSTER REPLICATE) once it has joined.',
      evidence: [...joining.values()].flat().slice(0, 8),
      nodes: nodes.map((n) => n.id),
      slots: [],
      transition: {
        since: null,
        until: null,
        bound: `a handshake completes or is dropped within node-timeout (${formatSeconds(nodeTimeoutMs)}); the view catches up within a few more`,
      },
    },
  ];
}
