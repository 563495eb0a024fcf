// Issue 11 §4: what a node says is data. A node announcing `<!channel>` as its address (or
// `<@U…>`, a link) must never ping, mention or link anything in Slack: every message builder,
// top-level `text` included, escapes it. The test enumerates the builder modules' exports, so a
// new builder that is not fed hostile data here fails it.
import assert from 'node:assert/strict';
import type { ClusterSnapshot, NodeProbe } from '../../../src/cluster/types';
import { parseConfig } from '../../../src/config/load';
import { analyseSnapshot } from '../../../src/engine';
import * as incidentBlocks from '../../../src/slack/blocks/incident';
import type { FixPlan, RepairResult, PlannedReport } from '../../../src/repair/types';
import * as commandBlocks from '../../../src/slack/blocks/command';
import * as diagnosisBlocks from '../../../src/slack/blocks/diagnosis';
import * as repairBlocks from '../../../src/slack/blocks/repair';
import { escapeMrkdwn } from '../../../src/slack/blocks/text';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const HOSTILE = '<!channel>';
const HOSTILE_HOST = '<!here>';
const hostileSilence = {
  cluster: 'payments',
  at: 0,
  until: 1000,
  by: 'U0ASKER',
  source: 'command' as const,
  reason: `db upgrade <!channel> <!everyone> <@UATTACKER> <#C0ATTACK> <http://evil.example|click> &`,
};
const HOSTILE_ALL = `${HOSTILE} <!everyone> <@UATTACKER> <#C0ATTACK> <http://evil.example|click> &`;

/** A real diagnosis of a cluster whose nodes announce hostile addresses and hostnames. */
function hostileReport(): PlannedReport {
  const nodes = (me: string): string =>
    [
      `${A} 10.0.0.31:6379@16379 ${me === A ? 'myself,' : ''}master - 0 0 1 connected 0-5460`,
      `${B} 10.0.0.32:6379@16379,${HOSTILE_HOST} ${me === B ? 'myself,' : ''}master - 0 0 2 connected 5461-10922`,
      `${C} ${HOSTILE}:23003@33003 master,fail - 0 0 3 disconnected 10923-16383`,
    ].join('\n');
  const info = 'cluster_state:fail\ncluster_slots_assigned:16384\ncluster_slots_ok:10923\ncluster_slots_pfail:0\ncluster_slots_fail:5461';
  const probe = (addr: string, me: string): NodeProbe => ({
    addr,
    status: 'ok',
    durationMs: 1,
    replies: { clusterNodes: nodes(me), clusterInfo: info },
  });
  const snapshot: ClusterSnapshot = {
    cluster: 'payments',
    seeds: [],
    takenAt: '2026-01-01T03:21:00.000Z',
    durationMs: 1,
    probes: [probe('10.0.0.31:6379', A), probe('10.0.0.32:6379', B)],
  };
  const report = analyseSnapshot(snapshot).report;
  report.limitations = [`could not reach ${HOSTILE_ALL}`];
  return report;
}

function hostilePlan(): FixPlan {
  return {
    id: 'assign-1a2b3c4d5e6f',
    action: 'ASSIGN_UNCOVERED_SLOTS',
    title: `Give slots of ${HOSTILE_ALL} to 10.0.0.31:6379`,
    fixes: ['MASTER_DOWN_NO_REPLICA'],
    risk: 'high',
    dataLoss: { slots: [[10923, 16383]], lastKnownKeys: 3, text: `keys of ${HOSTILE_ALL} are lost` },
    preconditions: [`${HOSTILE_ALL} is still down`],
    steps: [{ node: `${HOSTILE}:23003`, command: ['CLUSTER', 'ADDSLOTSRANGE', '10923', '16383'], why: HOSTILE_ALL }],
    expected: `ok on ${HOSTILE_ALL}`,
    executable: true,
  };
}

function hostileResult(report: PlannedReport): RepairResult {
  return {
    status: 'failed',
    reason: `step failed on ${HOSTILE_ALL}`,
    planId: 'assign-1a2b3c4d5e6f',
    plan: hostilePlan(),
    steps: [{ node: `${HOSTILE}:23003`, command: ['CLUSTER', 'ADDSLOTSRANGE', '1', '2'], reply: `ERR ${HOSTILE_ALL}`, ok: false, ms: 3 }],
    durationMs: 10,
    finalReport: report,
  };
}

/**
 * Every string Slack parses for mentions and links: top-level text and mrkdwn. plain_text
 * objects (headers, button labels, dialogs) are shown as written, and metadata is not shown.
 */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.type === 'plain_text') return out;
    for (const [k, v] of Object.entries(o)) if (k !== 'metadata' && k !== 'value' && k !== 'private_metadata') strings(v, out);
  }
  return out;
}

/** Slack control sequences that came from the data (ours: mentions of real users, the configured channel, dates). */
const UNSAFE = /<(?!@U0ASKER>|@U0APPROVER>|@U0OTHER>|#C0PAY>|!date\^)[!@#]|<https?:|<mailto:/;

const config = parseConfig({ clusters: [{ name: 'payments', seeds: ['10.0.0.31:6379'], channel: 'C0PAY' }] });
const values = { approve: () => 'approve-value', dryRun: () => 'dry-value' };

type Builder = () => unknown;

const report = hostileReport();
const risks = report.findings
  .filter((f) => f.category === 'risk')
  .map((f) => ({ ...f, title: `${f.title} ${HOSTILE_ALL}`, detail: HOSTILE_ALL }));
const resolved = {
  cluster: 'payments',
  incidentId: 'payments-1',
  openedAt: 0,
  resolvedAt: 60_000,
  cause: report.findings[0]!.title,
  fix: { title: hostilePlan().title, status: 'repaired', by: `${HOSTILE}`, at: '' },
  resolveAfterPolls: 3,
};
const runningSteps = [
  { index: 0, node: `${HOSTILE}:23003`, command: ['CLUSTER', 'BUMPEPOCH'], status: 'failed' as const, reply: HOSTILE_ALL },
];

/** Every exported message builder, called with hostile data. */
const BUILDERS: Record<string, Record<string, Builder>> = {
  'slack/blocks/diagnosis': {
    diagnosingMessage: () => diagnosisBlocks.diagnosingMessage('payments', `asking ${HOSTILE_ALL}`),
    diagnosisFailedMessage: () => diagnosisBlocks.diagnosisFailedMessage('payments', `no seed answered: ${HOSTILE_ALL}`, 'v'),
    rootMessage: () => [
      diagnosisBlocks.rootMessage(report, { kind: 'diagnose', requestedBy: 'U0ASKER' }),
      diagnosisBlocks.rootMessage(report, { kind: 'audit', requestedBy: HOSTILE }),
    ],
    coverageText: () => diagnosisBlocks.coverageText(report),
    findingsMessages: () => diagnosisBlocks.findingsMessages(report),
    findingBlocks: () => report.findings.map((f) => diagnosisBlocks.findingBlocks(f)),
    nodeTableMessages: () => diagnosisBlocks.nodeTableMessages(report.nodes),
    fixesMessage: () => [
      diagnosisBlocks.fixesMessage({ ...report, fixes: [...report.fixes, hostilePlan()] }, values, 900_000),
      diagnosisBlocks.fixesMessage({ ...report, fixes: [hostilePlan()] }, values, 900_000, {
        needed: () => 2,
        voters: { [hostilePlan().id]: [HOSTILE] },
      }),
    ],
    offlineFixesMessage: () => diagnosisBlocks.offlineFixesMessage({ ...report, fixes: [...report.fixes, hostilePlan()] }),
    planSummary: () => diagnosisBlocks.planSummary(hostilePlan(), 0),
    approveButton: () => diagnosisBlocks.approveButton('payments', hostilePlan(), 0, 'v'),
    confirmDialog: () => diagnosisBlocks.confirmDialog('payments', hostilePlan()),
    rediagnoseButton: () => diagnosisBlocks.rediagnoseButton('v'),
    approvalsLine: () => diagnosisBlocks.approvalsLine(['U0APPROVER', HOSTILE], 3),
    incidentFixesPointer: () => [
      diagnosisBlocks.incidentFixesPointer({ cluster: HOSTILE_ALL, fixes: [hostilePlan()] }, `https://x|${HOSTILE}`),
      diagnosisBlocks.incidentFixesPointer({ cluster: 'payments', fixes: [] }, 'https://fake.slack.test/archives/C1/p1'),
    ],
  },
  'slack/blocks/repair': {
    runningMessage: () => [
      repairBlocks.runningMessage({ cluster: 'payments', plan: hostilePlan(), approvedBy: 'U0APPROVER', steps: [], phase: HOSTILE_ALL }),
      repairBlocks.runningMessage({ cluster: 'payments', plan: hostilePlan(), approvedBy: HOSTILE, steps: runningSteps }),
      repairBlocks.runningMessage({ cluster: 'payments', plan: hostilePlan(), approvedBy: `U0APPROVER+${HOSTILE}`, steps: runningSteps }),
    ],
    outcomeMessage: () =>
      repairBlocks.outcomeMessage({
        cluster: 'payments',
        plan: hostilePlan(),
        approvedBy: 'U0APPROVER',
        result: hostileResult(report),
        rediagnoseValue: 'v',
      }),
    approvedSummaryMessage: () =>
      repairBlocks.approvedSummaryMessage({ cluster: 'payments', plan: hostilePlan(), approvedBy: HOSTILE, result: hostileResult(report) }),
    finalCheckText: () => repairBlocks.finalCheckText(report),
    expiredMessage: () => repairBlocks.expiredMessage(escapeMrkdwn(HOSTILE_ALL), 'v'),
    dryRunMessage: () => repairBlocks.dryRunMessage('payments', hostilePlan()),
    // Its contract: the message is mrkdwn whose quoted values the caller escaped.
    refusalMessage: () => repairBlocks.refusalMessage(`Refused for ${escapeMrkdwn(HOSTILE_ALL)}`),
    voteRecordedMessage: () => repairBlocks.voteRecordedMessage(diagnosisBlocks.approvalsLine([HOSTILE], 2), true),
  },
  'slack/blocks/command': {
    helpMessage: () => commandBlocks.helpMessage(config),
    usageMessage: () => commandBlocks.usageMessage(`unknown word ${HOSTILE_ALL}`, config),
    refusedClusterMessage: () => commandBlocks.refusedClusterMessage(`unknown cluster ${HOSTILE_ALL}`),
    listMessage: () =>
      commandBlocks.listMessage(
        config,
        new Map([
          [
            'payments',
            {
              verdict: 'down' as const,
              primary: 'MASTER_DOWN_NO_REPLICA' as const,
              checkedAt: new Date().toISOString(),
              uncovered: [[1, 2]] as Array<[number, number]>,
            },
          ],
        ]),
        Date.now(),
        new Map([['payments', { ...hostileSilence, until: Date.now() + 60_000 }]]),
      ),
    silenceLine: () => commandBlocks.silenceLine(hostileSilence),
    // Its contract: the text is mrkdwn whose quoted values the caller escaped.
    silenceMessage: () => commandBlocks.silenceMessage(`silenced ${escapeMrkdwn(HOSTILE_ALL)}`),
    pasteModal: () => commandBlocks.pasteModal(HOSTILE_ALL),
    alreadyRunningMessage: () => [
      commandBlocks.alreadyRunningMessage({ cluster: HOSTILE_ALL, kind: 'diagnose', askedBy: HOSTILE, since: 0, channel: 'C0PAY' }, 1000),
      // A permalink is shown as a link only when it looks like one Slack made.
      commandBlocks.alreadyRunningMessage(
        { cluster: 'payments', kind: 'audit', askedBy: 'U0ASKER', since: 0, permalink: `https://x|${HOSTILE}` },
        1000,
      ),
    ],
    rateLimitedMessage: () => commandBlocks.rateLimitedMessage({ perUser: 20, windowMs: 60_000 }, 1000),
    incidentThreadAnswer: () => [
      commandBlocks.incidentThreadAnswer({ cluster: HOSTILE_ALL, kind: 'diagnose', channel: 'C0PAY', permalink: `https://x|${HOSTILE}` }),
      commandBlocks.incidentThreadAnswer({ cluster: 'payments', kind: 'diagnose', channel: 'C0PAY', permalink: null }),
    ],
  },
  'slack/blocks/incident': {
    silencedText: () => [
      incidentBlocks.silencedText({ ...hostileSilence, by: HOSTILE }),
      incidentBlocks.silencedText({ ...hostileSilence, source: 'maintenance' }),
    ],
    incidentHeadline: () => incidentBlocks.incidentHeadline('payments', report),
    openIncidentMessage: () =>
      incidentBlocks.openIncidentMessage({
        cluster: 'payments',
        incidentId: 'payments-1',
        openedAt: 0,
        detectedBy: `alertmanager: ${HOSTILE_ALL}`,
        report,
        updatedAt: 1,
      }),
    recoveringIncidentMessage: () =>
      incidentBlocks.recoveringIncidentMessage({
        cluster: 'payments',
        incidentId: 'payments-1',
        openedAt: 0,
        cause: report.findings[0]!.title,
        resolveAfterPolls: 3,
        since: 1,
      }),
    resolvedIncidentMessage: () => incidentBlocks.resolvedIncidentMessage(resolved),
    resolvedThreadReply: () => incidentBlocks.resolvedThreadReply(resolved),
    riskMessage: () => incidentBlocks.riskMessage({ cluster: 'payments', risks, digestMs: 1000, at: 0 }),
    reopenedThreadReply: () => incidentBlocks.reopenedThreadReply({ at: 5000, resolvedAt: 1000, flaps: 2 }),
    adoptedThreadReply: () => incidentBlocks.adoptedThreadReply(),
    alertThreadReply: () => [
      incidentBlocks.alertThreadReply({ source: 'alertmanager', name: HOSTILE_ALL, status: 'firing', summary: HOSTILE_ALL }),
      incidentBlocks.alertThreadReply({ source: HOSTILE, name: 'RedisDown', status: 'resolved' }),
    ],
    movedToIncidentMessage: () =>
      incidentBlocks.movedToIncidentMessage({ cluster: `payments ${HOSTILE_ALL}`, pointer: `https://x|${HOSTILE}`, plans: 2 }),
    retiredFixesMessage: () =>
      incidentBlocks.retiredFixesMessage({
        cluster: `payments ${HOSTILE_ALL}`,
        pointer: 'https://fake.slack.test/archives/C1/p1',
        plans: 2,
      }),
  },
};

/** Exports that build no Slack-bound text, or return raw text that a builder above escapes. */
const NOT_BUILDERS = new Set([
  'slack/blocks/incident.formatDuration',
  'slack/blocks/incident.escape',
  // Headline text for logs and change detection; the messages above embed it escaped.
  'slack/blocks/incident.incidentHeadline',
  'slack/blocks/diagnosis.nodeRows',
  'slack/blocks/diagnosis.stepLine',
  'slack/blocks/repair.stepText',
  'slack/blocks/repair.applyProgress',
  'slack/blocks/command.ago',
  // A date from a number.
  'slack/blocks/command.slackDate',
]);

const MODULES: Record<string, Record<string, unknown>> = {
  'slack/blocks/diagnosis': diagnosisBlocks,
  'slack/blocks/repair': repairBlocks,
  'slack/blocks/command': commandBlocks,
  'slack/blocks/incident': incidentBlocks,
};

describe('hostile node data through every message builder (issue 11 §4)', () => {
  it('the test knows every exported builder', () => {
    for (const [name, module] of Object.entries(MODULES)) {
      const exported = Object.entries(module)
        .filter(([, v]) => typeof v === 'function')
        .map(([k]) => k);
      const missing = exported.filter((k) => !(k in BUILDERS[name]!) && !NOT_BUILDERS.has(`${name}.${k}`));
      assert.deepEqual(missing, [], `${name}: add these builders to this test`);
    }
  });

  it('the hostile data really reaches the messages (as escaped text)', () => {
    const all = strings(BUILDERS['slack/blocks/incident']!.openIncidentMessage!()).join('\n');
    assert.match(all, /&lt;!channel&gt;:23003/);
  });

  for (const [name, builders] of Object.entries(BUILDERS)) {
    for (const [builder, build] of Object.entries(builders)) {
      if (NOT_BUILDERS.has(`${name}.${builder}`)) continue;
      it(`${name}.${builder}: no mention, broadcast or link comes from the data, top-level text included`, () => {
        const built = build();
        for (const s of strings(built)) assert.doesNotMatch(s, UNSAFE, `${name}.${builder} let through: ${s.slice(0, 300)}`);
        const messages = (Array.isArray(built) ? built : [built]) as Array<{ text?: unknown }>;
        for (const m of messages.flat()) {
          if (m && typeof m === 'object' && 'blocks' in m && (m as { type?: string }).type !== 'modal')
            assert.equal(typeof m.text, 'string', `${name}.${builder} has a top-level text`);
        }
      });
    }
  }
});
