import type { Finding } from '../types';
import { evidenceLine, type ClusterModel } from '../model';

/** What `cluster-require-full-coverage` means for this cluster right now. */
export function fullCoverageSetting(model: ClusterModel, uncoveredSlots: number, quorumLost = false): Finding[] {
  const settings = model.views
    .map((v) => ({ addr: v.myself?.addr ?? v.probe.addr, value: v.config['cluster-require-full-coverage'] }))
    .filter((s): s is { addr: string; value: string } => Boolean(s.value));
  if (settings.length === 0) return [];
  const values = new Set(settings.map((s) => s.value));
  const mixed = values.size > 1;
  const value = mixed ? 'mixed' : settings[0]!.value;
  let meaning: string;
  if (quorumLost) {
    meaning =
      'With quorum lost every node is in the minority and refuses all queries whatever this setting says: setting it to no serves nothing until a majority of masters is back.';
  } else if (mixed) {
    meaning = 'The nodes disagree: some refuse every query when a slot is uncovered, others keep serving. Set one value everywhere.';
  } else if (value === 'yes') {
    meaning =
      uncoveredSlots > 0
        ? `Because ${uncoveredSlots} slots are uncovered, every node refuses all queries ("CLUSTERDOWN The cluster is down"), even for covered slots. Setting it to no temporarily would restore the ${16384 - uncoveredSlots} covered slots (partial availability).`
        : 'Any uncovered slot will stop the whole cluster: safe for consistency, harsh for availability.';
  } else {
    meaning =
      uncoveredSlots > 0
        ? `Nodes keep serving the ${16384 - uncoveredSlots} covered slots; only keys in the ${uncoveredSlots} uncovered slots fail.`
        : 'If slots become uncovered, the rest keeps serving (partial availability); clients must tolerate errors for some keys.';
  }
  return [
    {
      code: 'FULL_COVERAGE_SETTING',
      severity: mixed ? 'warning' : 'info',
      category: 'risk',
      title: `cluster-require-full-coverage: ${value}`,
      detail: meaning,
      evidence: settings.slice(0, mixed ? 6 : 1).map((s) => evidenceLine(s.addr, `cluster-require-full-coverage ${s.value}`)),
      nodes: [],
      slots: [],
    },
  ];
}
