import type { Finding } from '../types';
import { countSlots, formatRanges } from '../../cluster/slots';
import {
  evidenceLine,
  label,
  lineEvidence,
  probeEvidence,
  replicasOf,
  slotOwningMasters,
  stateEvidence,
  type ClusterModel,
  type ModelNode,
} from '../model';
import { flaggedNoFailover, formatSeconds, promotionSettings, validityWindowMs, validityWindowText, whyNotPromoted } from '../promotion';
import { plural } from '../../text';
import { downShardCopies } from './lingering';
import { failoverInProgress, failoverWindow } from './transitions';

/**
 * A slot-owning master that is down: without a replica its slots are simply gone; with a live
 * one, the replica should have been promoted (unless quorum is lost, which `quorumLost` reports:
 * the caller says so); with replicas that are all down too, the whole shard is down and those
 * replicas are the copies to bring back.
 */
export function masterDown(model: ClusterModel, lostQuorum: boolean): Finding[] {
  const findings: Finding[] = [];
  for (const master of slotOwningMasters(model)) {
    if (master.health !== 'down' && master.health !== 'suspect') continue;
    const replicas = replicasOf(model, master.id).filter((r) => r.health === 'up');
    const evidence = [...lineEvidence(master, 2), ...probeEvidence(master), ...stateEvidence(model, 'fail', 2)];
    const slotText = `${formatRanges(master.slots)} (${countSlots(master.slots)} slots)`;
    const keys = lastKnownKeys(master);
    const copies = downShardCopies(model, master);
    if (copies) {
      findings.push(shardAllCopiesDown(model, master, copies, lostQuorum));
    } else if (replicas.length === 0) {
      findings.push({
        code: 'MASTER_DOWN_NO_REPLICA',
        severity: 'critical',
        category: 'fault',
        title: `Master ${master.addr} is down and has no replica`,
        detail:
          `${label(master)} owns slots ${slotText} and ${describeDown(master)}. No replica can take over, so these slots ` +
          `are not served${keys}. Restart the node with its data if it survived (it keeps its id and slots); ` +
          `otherwise reassign its slots to a live master, and their keys are lost.`,
        evidence,
        nodes: [master.id],
        slots: master.slots,
      });
    } else if (!lostQuorum) {
      // Inside the window in which Redis fails it over by itself: a transition, not a fault, and
      // no plan may give its slots away yet.
      const window = failoverWindow(model, master, replicas, lostQuorum);
      if (window.inWindow) {
        findings.push(failoverInProgress(model, master, window, [...evidence, ...replicas.flatMap((r) => replicaEvidence(r))]));
        continue;
      }
      const pending =
        (master.health === 'suspect' || master.flagged !== 'fail') && !['no-majority-lost-it', 'window-passed'].includes(window.reason);
      findings.push({
        code: 'REPLICA_NOT_PROMOTED',
        severity: 'critical',
        category: 'fault',
        title: `Master ${master.addr} is down and its replica was not promoted`,
        detail:
          `${label(master)} owns slots ${slotText} and ${describeDown(master)}. ${replicas.map(label).join(', ')} ` +
          `${replicas.length === 1 ? 'is' : 'are'} still a replica of it. ` +
          (window.reason === 'no-majority-lost-it'
            ? `${window.why} `
            : notPromotedText(replicas, pending, promotionSettings(model)) + (window.why ? `${window.why} ` : '')) +
          'CLUSTER FAILOVER FORCE on the replica promotes it.',
        evidence: [...evidence, ...replicas.flatMap((r) => replicaEvidence(r))],
        nodes: [master.id, ...replicas.map((r) => r.id)],
        slots: master.slots,
      });
    }
  }
  return findings;
}

/**
 * The master and every replica of a shard are down (one host, rack or power feed): the failed
 * replicas are copies of its data, not ghosts. The ways back, by data kept: the master with its
 * data; else a replica with its data, promoted; only then the slots given away empty.
 */
function shardAllCopiesDown(model: ClusterModel, master: ModelNode, copies: ModelNode[], lostQuorum: boolean): Finding {
  const slots = `${formatRanges(master.slots)} (${countSlots(master.slots)} slots)`;
  const masters = slotOwningMasters(model);
  const alive = masters.filter((m) => m.health === 'up').length;
  const settings = promotionSettings(model);
  const window = validityWindowMs(settings);
  const replicaWord = copies.length === 1 ? 'replica' : 'replicas';
  const names = copies.map((c) => c.addr || c.id.slice(0, 8)).join(', ');
  const noFailover = copies.filter(flaggedNoFailover);
  const promote = lostQuorum
    ? `No majority of masters is alive to vote (${alive} of ${masters.length}): run CLUSTER FAILOVER TAKEOVER on it (no election; it bumps its own epoch).`
    : `Run CLUSTER FAILOVER FORCE on it: it skips the data-age check and still needs the votes of a majority of masters (${alive} of ${masters.length} alive).`;
  const detail = [
    `No live node holds slots ${slots}: every copy is down. The copies are on ${label(master)}, the master (${downState(master)})${lastKnownKeys(master)}, ` +
      `and on ${copies.map((c) => `${label(c)}, a replica (${downState(c)})${lastKnownKeys(c)}`).join(', ')}. Clients get no answer for these slots.`,
    'Ways back, by data kept:',
    `(1) restart the master ${master.addr} with its data dir (same port, nodes.conf and RDB/AOF): it keeps its id, its slots and every write it acknowledged.`,
    `(2) If it cannot come back: restart its ${replicaWord} with ${copies.length === 1 ? 'its data dir and promote it' : 'their data dir and promote one'}: it keeps what it had replicated; ` +
      `writes the master acknowledged after that are lost. Redis promotes a replica by itself only if it is not flagged nofailover, its data is recent enough ` +
      `(cut off from its master for less than ${validityWindowText(settings)}), and a majority of masters votes: a replica whose process kept running and that only lost the network ` +
      `promotes itself once reachable${window === null ? '' : ` within ${formatSeconds(window)} of losing its master`}. ` +
      'A replica restarted after its master died never does (it cannot tell how old its data is: redis#13234, unless cluster-replica-validity-factor is 0). ' +
      promote +
      (noFailover.length
        ? ` ${noFailover.map((n) => n.addr).join(', ')} ${noFailover.length === 1 ? 'is' : 'are'} flagged nofailover: only a manual failover promotes ${noFailover.length === 1 ? 'it' : 'them'}.`
        : ''),
    '(3) Only if no copy comes back with its data: reassign the slots to a live master, empty: their keys are lost.',
    `The failed ${replicaWord} ${names} ${copies.length === 1 ? 'is a copy' : 'are copies'} of this shard, not ${copies.length === 1 ? 'a ghost' : 'ghosts'}: do not forget ${copies.length === 1 ? 'it' : 'them'}.`,
  ].join(' ');
  return {
    code: 'SHARD_ALL_COPIES_DOWN',
    severity: 'critical',
    category: 'fault',
    title: `Every copy of slots ${formatRanges(master.slots)} is down: master ${master.addr} and its ${plural(copies.length, 'replica').replace(/^1 /, '')} ${names}`,
    detail,
    evidence: [
      ...lineEvidence(master, 1),
      ...probeEvidence(master),
      ...copies.flatMap((c) => [...lineEvidence(c, 1), ...probeEvidence(c)]),
      ...stateEvidence(model, 'fail', 2),
    ],
    nodes: [master.id, ...copies.map((c) => c.id)],
    slots: master.slots,
  };
}

function notPromotedText(replicas: ModelNode[], pending: boolean, settings: ReturnType<typeof promotionSettings>): string {
  if (pending) {
    return 'The master is not yet marked `fail` by a majority: an automatic failover may still be under way (it takes about 2 x cluster-node-timeout). ';
  }
  const reasons = replicas.map((r) => whyNotPromoted(r, settings)).filter((r): r is string => r !== null);
  if (reasons.length > 0) return `The failure is agreed, yet no replica ran for election: ${reasons.join(' ')} `;
  return 'The failure is agreed, yet no election was won: the replica may be flagged nofailover, too far behind (cluster-replica-validity-factor), or restarted after its master died. ';
}

/** `no answer: connection refused; flagged fail by the cluster`, for a list of copies. */
function downState(node: ModelNode): string {
  const parts: string[] = [];
  if (node.reachable === false) parts.push(`no answer: ${node.probe?.error ?? 'no reply'}`);
  if (node.reachable === true) parts.push('answers redis-medic');
  if (node.flagged === 'fail') parts.push('flagged `fail` by the cluster');
  else if (node.flagged === 'pfail') parts.push('flagged `fail?` by other nodes');
  return parts.join('; ') || 'down';
}

function describeDown(node: ModelNode): string {
  const parts: string[] = [];
  if (node.reachable === false) parts.push(`does not answer (${node.probe?.error ?? 'no reply'})`);
  if (node.reachable === true && node.flagged) parts.push('answers redis-medic, yet');
  if (node.flagged === 'fail') parts.push('the cluster flags it `fail`');
  else if (node.flagged === 'pfail') parts.push('the other nodes flag it `fail?`');
  return parts.join(' and ').replace('yet and ', 'yet ') || 'is down';
}

function lastKnownKeys(node: ModelNode): string {
  const keys = node.own?.probe.replies?.dbsize;
  return typeof keys === 'number' ? ` (it held ${keys} keys)` : '';
}

function replicaEvidence(replica: ModelNode): string[] {
  const out = lineEvidence(replica, 0);
  const link = replica.own?.replication['master_link_status'];
  if (link) out.push(evidenceLine(replica.addr, `master_link_status:${link}`));
  return out;
}
