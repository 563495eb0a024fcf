import { comparableAddr } from '../../cluster/address';
import type { Finding } from '../types';
import { evidenceLine, rawLineAt, type ClusterModel, type ModelNode, type NodeView } from '../model';
import { plural } from '../../text';

/** Handshake entries at one address that no member owns, and the instance behind them if it answered. */
export interface JoinAttempt {
  addr: string;
  /** The random ids the cluster gave it, one per attempt. */
  handshakeIds: string[];
  viewers: string[];
  /** The instance that answered at that address (or whose own view shows it sending MEET). */
  joiner?: ModelNode;
  /** More than one attempt is visible, or the instance knows members of this cluster and still meets them again. */
  repeated: boolean;
  evidence: string[];
}

const cache = new WeakMap<ClusterModel, JoinAttempt[]>();

/**
 * A `handshake` entry is Redis meeting an address: it gets a random id and is dropped by itself
 * when the handshake does not complete within node-timeout (at least 1 s), so there is never
 * anything to forget. Several ids at one address, or an instance there that already knows this
 * cluster's members, mean something keeps sending CLUSTER MEET: a removed machine still trying
 * to join, or a script or operator looping MEET. Computed once per model.
 */
export function joinAttempts(model: ClusterModel): JoinAttempt[] {
  let out = cache.get(model);
  if (!out) {
    out = findAttempts(model);
    cache.set(model, out);
  }
  return out;
}

/** Ids of instances that keep trying to join: not members, whatever their own view says. */
export function joinerIds(model: ClusterModel): Set<string> {
  return new Set(
    joinAttempts(model)
      .map((a) => a.joiner?.id)
      .filter((id): id is string => id !== undefined),
  );
}

export function nodeKeepsJoining(model: ClusterModel): Finding[] {
  const attempts = joinAttempts(model);
  if (attempts.length === 0) return [];
  const repeated = attempts.filter((a) => a.repeated);
  const shown = repeated.length > 0 ? repeated : attempts;
  const addrs = shown.map((a) => a.addr).join(', ');
  return [
    {
      code: 'NODE_KEEPS_JOINING',
      severity: repeated.length > 0 ? 'warning' : 'info',
      category: repeated.length > 0 ? 'fault' : 'risk',
      title:
        repeated.length > 0
          ? `${shown.length === 1 ? 'An instance' : `${shown.length} instances`} at ${addrs} ${shown.length === 1 ? 'keeps' : 'keep'} trying to join the cluster`
          : `Handshake in progress with ${addrs}`,
      detail:
        shown.map(describe).join(' ') +
        (repeated.length > 0
          ? ' CLUSTER FORGET does nothing here: every CLUSTER MEET makes a new id, and Redis drops each one by itself when its handshake does not complete. ' +
            'Find the instance at that address that keeps trying to join (a removed machine still running with this cluster in its nodes.conf, ' +
            'or a script or operator looping CLUSTER MEET) and stop it; if it should join, make its announced address and bus port reachable from the cluster.'
          : ' Redis drops a handshake that does not complete within node-timeout (at least 1 s) by itself: nothing to forget. ' +
            'A node being added right now looks like this. If the address shows up again with a new id at the next check, an instance there keeps trying to join: find it and stop it.'),
      evidence: shown.flatMap((a) => a.evidence).slice(0, 10),
      nodes: [...new Set(shown.flatMap((a) => [...(a.joiner ? [a.joiner.id] : []), ...a.handshakeIds]))],
      slots: [],
    },
  ];
}

function describe(attempt: JoinAttempt): string {
  const parts: string[] = [];
  if (attempt.handshakeIds.length > 0) {
    parts.push(
      `${attempt.viewers.join(', ')} ${attempt.viewers.length === 1 ? 'lists' : 'list'} ${attempt.addr} in handshake under ` +
        `${plural(attempt.handshakeIds.length, 'id')} (${attempt.handshakeIds.map((id) => id.slice(0, 8)).join(', ')}).`,
    );
  }
  const joiner = attempt.joiner;
  if (joiner) {
    const known = knownMembers(joiner).length;
    parts.push(
      `The instance answering at ${attempt.addr} has id ${joiner.id.slice(0, 8)}, which no member lists` +
        (known > 0 ? `, while it knows ${plural(known, 'node')} of this cluster` : '') +
        (sendsMeet(joiner) ? ', and its own view shows it meeting members again (handshake entries towards their addresses)' : '') +
        '.',
    );
    if (joiner.probe?.busPort && !joiner.probe.busPort.reachable) {
      parts.push(
        `Its announced bus port ${joiner.probe.busPort.port} does not answer (${joiner.probe.busPort.error ?? 'unreachable'}), so no handshake with it can complete.`,
      );
    }
  }
  return parts.join(' ');
}

function findAttempts(model: ClusterModel): JoinAttempt[] {
  // One look at each distinct line for a handshake; the rest only runs when there is one (rare).
  if (!model.lineTable.lines.some((line) => line.flags.includes('handshake') && line.addr)) return [];
  const handshakes: Array<{ view: NodeView; line: NodeView['lines'][number]; index: number }> = [];
  for (const view of model.views) {
    view.lines.forEach((line, index) => {
      if (line.flags.includes('handshake') && line.addr) handshakes.push({ view, line, index });
    });
  }
  if (handshakes.length === 0) return [];
  const listedByOthers = new Set<string>();
  for (const view of model.views) {
    for (const line of view.lines) {
      if (line.id !== view.myself?.id && !line.flags.includes('handshake')) listedByOthers.add(line.id);
    }
  }
  // Addresses of members: a handshake towards one of them is someone meeting a known node again.
  const memberAt = new Map<string, ModelNode>();
  for (const node of model.nodes.values()) {
    if (node.addr && listedByOthers.has(node.id)) memberAt.set(comparableAddr(node.addr), node);
  }
  const outsider = (view: NodeView): boolean =>
    model.views.length > 1 &&
    view.myself !== undefined &&
    !listedByOthers.has(view.myself.id) &&
    view.lines.some((l) => l.id !== view.myself!.id && !l.flags.includes('handshake') && listedByOthers.has(l.id));

  const groups = new Map<string, JoinAttempt>();
  const attemptAt = (addr: string): JoinAttempt => {
    const key = comparableAddr(addr);
    let attempt = groups.get(key);
    if (!attempt) {
      attempt = { addr, handshakeIds: [], viewers: [], repeated: false, evidence: [] };
      groups.set(key, attempt);
    }
    return attempt;
  };
  for (const { view, line, index } of handshakes) {
    const viewer = view.myself?.addr || view.probe.addr;
    const member = memberAt.get(comparableAddr(line.addr));
    if (member && member.id !== line.id) {
      // Meeting a known member again: only worth a word when the one doing it is no member.
      if (outsider(view)) {
        const attempt = attemptAt(viewer);
        attempt.evidence.push(evidenceLine(viewer, rawLineAt(view, index)));
      }
      continue;
    }
    const attempt = attemptAt(line.addr);
    if (!attempt.handshakeIds.includes(line.id)) attempt.handshakeIds.push(line.id);
    if (!attempt.viewers.includes(viewer)) attempt.viewers.push(viewer);
    attempt.evidence.push(evidenceLine(viewer, rawLineAt(view, index)));
  }
  for (const [key, attempt] of groups) {
    const joiner = [...model.nodes.values()].find(
      (n) => n.own && !attempt.handshakeIds.includes(n.id) && (comparableAddr(n.addr) === key || comparableAddr(n.own.probe.addr) === key),
    );
    if (joiner) {
      attempt.joiner = joiner;
      if (joiner.own?.myself) attempt.evidence.unshift(evidenceLine(attempt.addr, joiner.own.myself.raw));
    }
    // One id with an instance that is only half-way through a normal join looks alike; an instance
    // that already knows members and still meets them again does not.
    attempt.repeated = attempt.handshakeIds.length >= 2 || (joiner !== undefined && sendsMeet(joiner) && knownMembers(joiner).length > 0);
  }
  return [...groups.values()].sort((a, b) => a.addr.localeCompare(b.addr));
}

/** Members (listed by some other view) that this instance's own view knows, handshakes aside. */
function knownMembers(node: ModelNode): string[] {
  return (node.own?.lines ?? [])
    .filter((l) => l.id !== node.id && !l.flags.includes('handshake') && l.flags.every((f) => f !== 'noaddr'))
    .map((l) => l.id);
}

function sendsMeet(node: ModelNode): boolean {
  return (node.own?.lines ?? []).some((l) => l.flags.includes('handshake'));
}
