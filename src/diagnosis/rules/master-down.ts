import type { Finding } from '../types';
import { countSlots, formatRanges } from '../../cluster/slots';
import { evidenceLine, label, lineEvidence, probeEvidence, replicasOf, slotOwningMasters, stateEvidence, type ClusterModel, type ModelNode } from '../model';

/**
 * A slot-owning master that is down: without a replica its slots are simply gone; with one, the
 * replica should have been promoted (unless quorum is lost, which `quorumLost` reports: the
 * caller says so).
 */
export function masterDown(model: ClusterModel, lostQuorum: boolean): Finding[] {
  const findings: Finding[] = [];
  for (const master of slotOwningMasters(model)) {
    if (master.health !== 'down' && master.health !== 'suspect') continue;
    const replicas = replicasOf(model, master.id).filter((r) => r.health === 'up');
    const evidence = [...lineEvidence(master, 2), ...probeEvidence(master), ...stateEvidence(model, 'fail', 2)];
    const slotText = `${formatRanges(master.slots)} (${countSlots(master.slots)} slots)`;
    const keys = lastKnownKeys(master);
    if (replicas.length === 0) {
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
      const pending = master.health === 'suspect' || master.flagged !== 'fail';
      findings.push({
        code: 'REPLICA_NOT_PROMOTED',
        severity: 'critical',
        category: 'fault',
        title: `Master ${master.addr} is down and its replica was not promoted`,
        detail:
          `${label(master)} owns slots ${slotText} and ${describeDown(master)}. ${replicas.map(label).join(', ')} ` +
          `${replicas.length === 1 ? 'is' : 'are'} still a replica of it. ` +
          (pending
            ? 'The master is not yet marked `fail` by a majority: an automatic failover may still be under way (it takes about 2 x cluster-node-timeout). '
            : 'The failure is agreed, yet no election was won: the replica may be flagged nofailover, too far behind (cluster-replica-validity-factor), or restarted after its master died. ') +
          'CLUSTER FAILOVER FORCE on the replica promotes it.',
        evidence: [...evidence, ...replicas.flatMap((r) => replicaEvidence(r))],
        nodes: [master.id, ...replicas.map((r) => r.id)],
        slots: master.slots,
      });
    }
  }
  return findings;
}

function describeDown(node: ModelNode): string {
  const parts: string[] = [];
  if (node.reachable === false) parts.push(`does not answer (${node.probe?.error ?? 'no reply'})`);
  if (node.flagged === 'fail') parts.push('the cluster flags it `fail`');
  else if (node.flagged === 'pfail') parts.push('the other nodes flag it `fail?`');
  return parts.join(' and ') || 'is down';
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
