import { comparableAddr, hostPortKey } from '../cluster/address';
import type { ClusterNodeLine } from '../cluster/types';

/** What this needs of a view (the model's NodeView), kept structural so the model imports this, not the reverse. */
export interface AnsweredView {
  probe: { addr: string; replies?: { dbsize?: number } | undefined };
  myself?: ClusterNodeLine;
  lines: ClusterNodeLine[];
}

/** An answer from an address where the cluster lists another node: not that node's view. */
export interface Impostor<V extends AnsweredView = AnsweredView> {
  view: V;
  /** The address we asked. */
  addr: string;
  /** Who the cluster lists there instead: one line per id, with the view that lists it. */
  listed: Array<{ viewer: string; line: ClusterNodeLine; view: V }>;
}

/**
 * An answer only one node vouches for, which does not know that node back (or that only
 * handshake entries led to while it holds slots or keys): what one node says about another is
 * data, so the answer is not used as a node of this cluster.
 */
export interface Unconfirmed<V extends AnsweredView = AnsweredView> {
  view: V;
  addr: string;
  /** The view that lists it there (none when only handshake entries did). */
  listedBy: Array<{ viewer: string; line: ClusterNodeLine }>;
}

/**
 * Split the answers into views to trust and impostors. An answer at address A whose own id is
 * N is an impostor when another view lists a different node at A and no other view lists N
 * at A: whatever answers there is not the node the cluster routes to A (a node announcing
 * someone else's address, an address reused by another Redis). Its view is not used, so
 * neither its slots nor its "I know nobody" can turn into a plan (a MEET towards it).
 *
 * `noaddr` and `handshake` lines do not count: they name nobody at that address for sure.
 * A node restarted with an empty nodes.conf is trusted again once its peers drop the old id's
 * address (`noaddr`), which Redis does as soon as the new id answers there. One look at each
 * distinct line (`distinct`, from the model's line table): linear in the size of the answers.
 */
export function splitImpostors<V extends AnsweredView>(
  views: V[],
  distinct: DistinctLines,
  isRoot: (view: V) => boolean = () => true,
): { trusted: V[]; impostors: Array<Impostor<V>>; unconfirmed: Array<Unconfirmed<V>> } {
  // Only the addresses that answered matter: lines elsewhere are skipped on their port number
  // before any address is normalised (a 20,000-line view answers from one address).
  const askedKeys = new Map<V, string>();
  const askedPorts = new Set<number>();
  for (const view of views) {
    if (!view.myself) continue;
    askedKeys.set(view, comparableAddr(view.probe.addr));
    const port = Number(view.probe.addr.slice(view.probe.addr.lastIndexOf(':') + 1));
    askedPorts.add(port);
  }
  const asked = new Set(askedKeys.values());
  // asked address -> id -> the first view (index) and line listing that id there. Each distinct
  // line once, in the order lines first appear (views in order): what one pass over every line
  // of every view would record, for N^2 lines in about 2N steps.
  const listedAt = new Map<string, Map<string, { index: number; viewer: string; line: ClusterNodeLine; byOthersToo: boolean }>>();
  distinct.lines.forEach((line, d) => {
    if (!askedPorts.has(line.port) || !line.addr) return;
    if (line.flags.includes('myself') || line.flags.includes('noaddr') || line.flags.includes('handshake')) return;
    const key = lineAddrKey(line);
    if (!asked.has(key)) return;
    let ids = listedAt.get(key);
    if (!ids) listedAt.set(key, (ids = new Map()));
    const index = distinct.firstViewIndex[d]!;
    const seen = ids.get(line.id);
    if (!seen) {
      const view = views[index]!;
      ids.set(line.id, { index, viewer: view.myself?.addr || view.probe.addr, line, byOthersToo: distinct.inOtherViews[d]! });
    } else if (seen.index !== index || distinct.inOtherViews[d]) seen.byOthersToo = true;
  });
  const trusted: V[] = [];
  const impostors: Array<Impostor<V>> = [];
  const unconfirmed: Array<Unconfirmed<V>> = [];
  const lists = (view: V, id: string | undefined): boolean =>
    id !== undefined && view.lines.some((l) => l.id === id && !l.flags.includes('myself'));
  views.forEach((view, index) => {
    const id = view.myself?.id;
    const key = askedKeys.get(view);
    const ids = id && key !== undefined ? listedAt.get(key) : undefined;
    const others = ids ? [...ids.entries()].filter(([listedId, at]) => listedId !== id && (at.index !== index || at.byOthersToo)) : [];
    if (!ids || others.length === 0 || ids.has(id!)) {
      // Only what a node says about itself, where we reached it, is trusted on its own word: an
      // answer that is not a configured seed needs the cluster to vouch for it. One view alone
      // listing it there is data, unless the answer lists that view back (gossip is mutual).
      const mine = ids?.get(id!);
      if (id && !isRoot(view)) {
        const voucher = mine && !mine.byOthersToo ? views[mine.index] : undefined;
        const vouchedByOneOnly = voucher !== undefined && voucher !== view && !lists(view, voucher.myself?.id);
        // Only handshake entries led here: an instance trying to join, kept while it is blank.
        const unlisted = !mine && (view.myself!.slots.length > 0 || (view.probe.replies?.dbsize ?? 0) > 0);
        if (vouchedByOneOnly || unlisted) {
          unconfirmed.push({ view, addr: view.probe.addr, listedBy: mine ? [{ viewer: mine.viewer, line: mine.line }] : [] });
          return;
        }
      }
      trusted.push(view);
      return;
    }
    impostors.push({
      view,
      addr: view.probe.addr,
      listed: others.map(([, at]) => ({ viewer: at.viewer, line: at.line, view: views[at.index]! })),
    });
  });
  return { trusted, impostors, unconfirmed };
}

/**
 * The distinct line objects of some views, in the order they first appear (views in order, each
 * top to bottom): the view each first appears in, and whether it also appears in another view.
 */
export interface DistinctLines {
  lines: readonly ClusterNodeLine[];
  firstViewIndex: readonly number[];
  inOtherViews: readonly boolean[];
}

/**
 * comparableAddr(line.addr) from the parsed fields (a line's addr is `${host}:${port}`), without
 * parsing the text again.
 */
function lineAddrKey(line: ClusterNodeLine): string {
  return line.host && line.port >= 1 && line.port <= 65535 ? hostPortKey(line) : comparableAddr(line.addr);
}
