// The heart of the product, timed as an on-call engineer meets it, with a production-like
// node-timeout (4000 ms): a master without replica is killed; the monitor opens its thread (MTTD)
// with fix buttons; an approver clicks the thread's own "Approve: Assign slots ..." (a signed
// request into the real app); the real job system repairs; every node says cluster_state:ok.
// Next to the cluster's own failure detection (every live node saying cluster_state:fail),
// measured in the same run. Two ways of clicking: at once (before the cluster even flagged the
// master: the case that used to be refused as "cluster changed"), and after node-timeout.
import { createClusterMonitor } from '../src/incidents/monitor';
import type { MonitorJobData } from '../src/jobs/types';
import { silentLogger } from '../src/logging/logger';
import { INCIDENT_EVENT } from '../src/slack/blocks/incident';
import { createSlackIncidentPublisher } from '../src/slack/incident-publisher';
import { spawnCluster, type TestCluster } from '../test/helpers/cluster';
import type { RecordedCall } from '../test/helpers/fake-slack';
import { buttonClick, interaction, send } from '../test/helpers/slack-requests';
import { buttonsIn, SIGNING_SECRET, startHarness } from '../test/integration/slack/support';
import { median } from './stats';

const NODE_TIMEOUT_MS = 4000;
const INTERVAL_MS = 1000;
const RUNS = 3;
const CHANNEL = 'C0BENCH';
type When = 'at once' | 'after node-timeout';

interface Sample {
  clusterFailMs: number;
  mttdMs: number;
  buttonsMs: number;
  clickToOkMs: number;
  killToOkMs: number;
  outcome: string;
}

export default async function incidentApproveBench(): Promise<void> {
  console.log(
    `node-timeout ${NODE_TIMEOUT_MS} ms, monitor interval ${INTERVAL_MS} ms, 3 masters without replica; one master killed at a random phase of the poll interval`,
  );
  console.log('click                 run   cluster fail   MTTD (root)   buttons   click->ok   kill->ok   outcome');
  for (const when of ['at once', 'after node-timeout'] as When[]) {
    const samples: Sample[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const s = await oneRun(when);
      samples.push(s);
      console.log(
        `${when.padEnd(20)} ${String(run).padStart(4)}   ${ms(s.clusterFailMs, 9)}   ${ms(s.mttdMs, 10)}   ${ms(s.buttonsMs, 7)}   ${ms(s.clickToOkMs, 8)}   ${ms(s.killToOkMs, 7)}   ${s.outcome}`,
      );
    }
    const m = (f: (s: Sample) => number): number => Math.round(median(samples.map(f)));
    console.log(
      `  -> median: cluster's own detection ${Number.isNaN(m((s) => s.clusterFailMs)) ? 'never (repaired first)' : `${m((s) => s.clusterFailMs)} ms`}; MTTD ${m((s) => s.mttdMs)} ms; approve -> cluster_state:ok ${m((s) => s.clickToOkMs)} ms; kill -> ok ${m((s) => s.killToOkMs)} ms`,
    );
  }
}

async function oneRun(when: When): Promise<Sample> {
  const cluster = await spawnCluster({ masters: 3, nodeTimeoutMs: NODE_TIMEOUT_MS });
  const h = await startHarness({ clusters: [{ name: 'orders', seeds: cluster.seeds, channel: CHANNEL }], workers: true });
  const publisher = createSlackIncidentPublisher({ config: h.config, logger: silentLogger, redis: h.redis });
  const monitor = createClusterMonitor({ config: h.config, logger: silentLogger, redis: h.redis, audit: h.audit, publisher });
  const poll: MonitorJobData = { cluster: 'orders', reason: 'schedule' };
  let polling = true;
  // As the scheduler runs it: one poll, then the interval.
  const loop = (async () => {
    while (polling) {
      await monitor.poll(poll).catch(() => undefined);
      await sleep(INTERVAL_MS);
    }
  })();
  try {
    await sleep(2 * INTERVAL_MS);
    await sleep(Math.random() * INTERVAL_MS);
    const victim = cluster.masters()[2]!;
    const killedAt = Date.now();
    await cluster.kill(victim);
    // The cluster's own detection; when the repair lands first the cluster never says fail at all.
    let repairedFirst = false;
    const clusterFail = cluster
      .waitFor((infos) => repairedFirst || (infos.size > 0 && [...infos.values()].every((t) => t.includes('cluster_state:fail'))), {
        timeoutMs: 60_000,
        what: 'cluster_state:fail everywhere',
      })
      .then(() => (repairedFirst ? NaN : Date.now() - killedAt));
    const root = await h.fake.waitFor(
      'chat.postMessage',
      (c) => !c.params.thread_ts && c.params.metadata?.event_type === INCIDENT_EVENT,
      30_000,
    );
    const rootTs = root.response!.ts as string;
    const fixes = await h.fake.waitFor('chat.postMessage', (c) => c.params.thread_ts === rootTs && approveOf(c) !== undefined, 30_000);
    if (when === 'after node-timeout') {
      await cluster.waitUntilFlagged(victim, 'fail', { timeoutMs: 30_000 });
      await sleep(2 * INTERVAL_MS); // the monitor polls meanwhile, as it would
    }
    const current = currentFixMessage(h.fake.calls, fixes);
    const approve = approveOf(current)!;
    const clickedAt = Date.now();
    await send(
      interaction(
        h.url,
        SIGNING_SECRET,
        buttonClick({
          actionId: approve.actionId,
          value: approve.value,
          userId: 'U0APPROVER',
          channel: CHANNEL,
          messageTs: fixes.response!.ts as string,
          threadTs: rootTs,
          responseUrl: `${h.fake.responseUrlBase}click`,
        }),
      ),
    );
    const outcome = await h.fake.waitFor(
      'chat.postMessage',
      (c) => c.params.thread_ts === rootTs && /^(Repaired|Repair )/.test(String(c.params.text)),
      60_000,
    );
    let okAt = NaN;
    if (/^Repaired/.test(String(outcome.params.text))) {
      await waitOk(cluster);
      okAt = Date.now();
    }
    repairedFirst = true;
    return {
      clusterFailMs: await clusterFail,
      mttdMs: root.at - killedAt,
      buttonsMs: fixes.at - killedAt,
      clickToOkMs: okAt - clickedAt,
      killToOkMs: okAt - killedAt,
      outcome:
        String(outcome.params.text).split(':')[0]! + (Number.isNaN(await clusterFail) ? ' (before the cluster itself said fail)' : ''),
    };
  } finally {
    polling = false;
    await loop;
    await h.close();
    await cluster.teardown();
  }
}

function approveOf(call: RecordedCall): ReturnType<typeof buttonsIn>[number] | undefined {
  return buttonsIn([call]).find((b) => b.actionId.startsWith('redis_medic.approve') && /Assign slots/.test(b.text));
}

/** The fix message as last posted or edited in place: the buttons a person sees now. */
function currentFixMessage(calls: RecordedCall[], posted: RecordedCall): RecordedCall {
  const ts = posted.response!.ts as string;
  const edits = calls.filter((c) => c.method === 'chat.update' && c.params.ts === ts && approveOf(c) !== undefined);
  return edits[edits.length - 1] ?? posted;
}

async function waitOk(cluster: TestCluster): Promise<void> {
  await cluster.waitUntilOk({ timeoutMs: 30_000 });
}

function ms(n: number, width: number): string {
  return `${Number.isNaN(n) ? '-' : String(Math.round(n))} ms`.padStart(width + 3);
}

function sleep(msToWait: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msToWait));
}
