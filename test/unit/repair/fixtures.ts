// Loads the snapshots captured from real clusters by test/fixtures/capture-repair-fixtures.ts.
import fs from 'node:fs';
import path from 'node:path';
import type { ClusterSnapshot } from '../../../src/cluster/types';
import { analyseSnapshot } from '../../../src/engine';
import { parseClusterNodes } from '../../../src/cluster/parse-nodes';
import type { PlannedReport } from '../../../src/repair/types';

export interface Fixture {
  scenario: string;
  description: string;
  spareNodes: string[];
  snapshot: ClusterSnapshot;
}

const DIR = path.join(__dirname, '..', '..', 'fixtures', 'cluster-nodes');

export function loadFixture(scenario: string): Fixture {
  return JSON.parse(fs.readFileSync(path.join(DIR, `repair-${scenario}.json`), 'utf8')) as Fixture;
}

export function allFixtures(): Fixture[] {
  return fs
    .readdirSync(DIR)
    .filter((f) => f.startsWith('repair-') && f.endsWith('.json'))
    .sort()
    .map((f) => loadFixture(f.slice('repair-'.length, -'.json'.length)));
}

export function reportOf(fixture: Fixture, spareNodes = fixture.spareNodes): PlannedReport {
  return analyseSnapshot(structuredClone(fixture.snapshot), spareNodes).report;
}

/** The node with this role and index as the fixture's first live view lists them (by address). */
export function nodesOf(fixture: Fixture): Array<{
  id: string;
  addr: string;
  busPort: number;
  epoch: number;
  flags: string[];
  masterId: string | null;
  slots: Array<[number, number]>;
}> {
  const byId = new Map<string, ReturnType<typeof nodesOf>[number]>();
  for (const probe of fixture.snapshot.probes) {
    if (!probe.replies) continue;
    for (const line of parseClusterNodes(probe.replies.clusterNodes)) {
      if (line.flags.includes('myself') || !byId.has(line.id)) {
        byId.set(line.id, {
          id: line.id,
          addr: line.addr,
          busPort: line.busPort,
          epoch: line.configEpoch,
          flags: line.flags,
          masterId: line.masterId,
          slots: line.slots,
        });
      }
    }
  }
  return [...byId.values()].sort((a, b) => a.addr.localeCompare(b.addr));
}

/** A copy of the snapshot with every CLUSTER NODES line rewritten by `edit` (fields split on spaces). */
export function editLines(snapshot: ClusterSnapshot, edit: (fields: string[]) => string[]): ClusterSnapshot {
  const copy = structuredClone(snapshot);
  for (const probe of copy.probes) {
    if (!probe.replies) continue;
    probe.replies.clusterNodes = probe.replies.clusterNodes
      .split('\n')
      .map((line) => (line.trim() ? edit(line.trim().split(' ')).join(' ') : line))
      .join('\n');
  }
  return copy;
}
