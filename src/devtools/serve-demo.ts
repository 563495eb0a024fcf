import crypto from 'node:crypto';
import { parseConfig } from '../config/load';
import escapeHtml from 'escape-html';
import { createLogger, logDestination } from '../logging/logger';
import { startService } from '../service';
import { startDemoChannel } from './demo-channel';
import { spawnCluster, type TestCluster } from './local-cluster';
import type { DemoChannel } from './demo-channel';
import { startFakeSlack, type RecordedCall, type StoredMessage } from './local-slack';
import { deleteQueueKeys } from './queue-keys';
import { redisAnswers, startThrowawayRedis, type ThrowawayRedis } from './redis-server';
import { renderCall } from './render-blocks';
import { buttonClick, interaction, send, slashCommand } from './slack-requests';

export interface ServeDemoIO {
  stdout: (text: string) => void;
}

const CHANNEL = 'C0DEMO';
const CHANNEL_NAME = 'redis-incidents';
const ON_CALL = 'U0ONCALL';
const ASKER = 'U0ASKER';

export interface ServeDemoOptions {
  /** Leave everything running after the scripted story (`--auto`), until Ctrl-C. */
  keep: boolean;
  /** Play the people (the scripted story) instead of waiting for a person at the page. */
  auto: boolean;
  /** The channel page's port on 127.0.0.1 (0: any free port). */
  port?: number;
}

/**
 * The whole product on a throwaway cluster, with a local Slack: `redis-medic start` (Slack
 * app, workers, monitor) runs for real, and a local channel page shows what Slack would. The
 * person at the page breaks the cluster, types /redis-diagnose and clicks Approve; with
 * `auto`, the demo plays them and prints the channel in the terminal.
 */
export async function runServeDemo(io: ServeDemoIO, options: ServeDemoOptions): Promise<boolean> {
  const say = (text: string): void => io.stdout(`\n>>> ${text}\n`);
  const cluster = await spawnCluster({ masters: 3, spares: 1 });
  let queue: ThrowawayRedis | undefined;
  const queueUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const cleanups: Array<() => Promise<unknown>> = [];
  let page: DemoChannel | undefined;
  try {
    if (!(await redisAnswers(queueUrl))) queue = await startThrowawayRedis();
    const slack = await startFakeSlack({
      onCall: (call) => {
        page?.record(call);
        if (!options.auto) return;
        const text = renderCall(call);
        if (text) io.stdout(text);
      },
    });
    cleanups.push(() => slack.close());
    const signingSecret = crypto.randomBytes(16).toString('hex');
    const prefix = `redis-medic-demo-${process.pid}`;
    const config = parseConfig({
      clusters: [{ name: 'demo', seeds: cluster.seeds, channel: CHANNEL, spareNodes: cluster.spares().map((s) => s.addr) }],
      approvals: { users: [ON_CALL] },
      monitor: { intervalMs: 1000, resolveAfterPolls: 2 },
      slack: { botToken: 'demo-local-bot-token', signingSecret, apiUrl: slack.apiUrl },
      approvalSecret: crypto.randomBytes(16).toString('hex'),
      queue: { redisUrl: queue?.url ?? queueUrl, prefix },
    });
    // The scripted story is the output there; with a person at the page, the product's own logs are.
    const level = process.env.LOG_LEVEL ?? (options.auto ? 'warn' : 'info');
    const service = await startService(config, { logger: createLogger({ level }, logDestination(process.stderr)), port: 0 });
    cleanups.unshift(async () => {
      await service.stop('demo finished');
      await deleteQueueKeys(prefix, undefined, queue?.url ?? queueUrl).catch(() => undefined);
    });
    const events = `${service.url}/slack/events`;
    page = await startDemoChannel({
      slack,
      eventsUrl: events,
      signingSecret,
      channel: CHANNEL,
      channelName: CHANNEL_NAME,
      users: [ON_CALL, ASKER],
      ...(options.port !== undefined ? { port: options.port } : {}),
      clusterHtml: () => clusterPanel(cluster),
      breakCluster: () => breakCluster(cluster),
    });
    cleanups.unshift(() => page!.close());
    io.stdout(`redis-medic demo: the local channel is at ${page.url}`);
    if (!options.auto) {
      io.stdout(
        [
          '',
          `redis-medic is running (Slack app, workers, monitor) against a throwaway cluster "demo" (${cluster.seeds.join(' ')}),`,
          'with a local stand-in for Slack. Open the page above, then:',
          '  1. Click "Break the cluster": it kills a master that has no replica, for real.',
          '  2. Watch the incident thread open by itself, or type /redis-diagnose demo.',
          '  3. Click an "Approve: ..." button, read the confirm dialog, run it, and watch it resolve.',
          'Ctrl-C stops everything and cleans up.',
        ].join('\n'),
      );
      await untilStopped();
      return true;
    }
    return await playStory({ io, say, cluster, slack, service, events, signingSecret, keep: options.keep });
  } finally {
    say('Cleaning up: stopping redis-medic, the cluster and the local Slack.');
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    await cluster.teardown();
    await queue?.stop();
  }
}

function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/** The sidebar's view of the throwaway cluster: each node, and which are dead. */
function clusterPanel(cluster: TestCluster): string {
  const nodes = cluster.nodes
    .map(
      (n) =>
        `<li class="${n.alive ? 'alive' : 'dead'}">${escapeHtml(`${n.addr} ${n.role === 'spare' ? 'spare' : n.role}${n.alive ? '' : ' (killed)'}`)}</li>`,
    )
    .join('');
  return `<p>demo: ${cluster.nodes.length} nodes, no replicas, 1 spare</p><ul>${nodes}</ul>`;
}

/**
 * Kill a master that serves slots and has no replica (SIGKILL, for real). Refused when it
 * would leave fewer than two masters serving slots: past that the majority is gone too.
 */
async function breakCluster(cluster: TestCluster): Promise<string> {
  const alive = cluster.nodes.filter((n) => n.alive);
  const viewer = alive[0];
  if (!viewer) throw new Error('Every node is already dead.');
  const lines = await cluster.clusterNodes(viewer);
  const serving = alive.filter((n) => lines.some((l) => l.id === n.id && l.flags.includes('master') && l.slots.length > 0));
  if (serving.length < 3)
    throw new Error(
      `Only ${serving.length} masters still serve slots: killing another would lose the majority, which needs a person with a shell. Restart the demo to break it again.`,
    );
  const victim = serving[serving.length - 1]!;
  const slots = lines.find((l) => l.id === victim.id)?.slots.join(' ') ?? '';
  await cluster.kill(victim);
  return `Killed the master ${victim.addr} (slots ${slots}) with SIGKILL. It has no replica; the monitor will notice within a few seconds.`;
}

interface Story {
  io: ServeDemoIO;
  say: (text: string) => void;
  cluster: TestCluster;
  slack: Awaited<ReturnType<typeof startFakeSlack>>;
  service: Awaited<ReturnType<typeof startService>>;
  events: string;
  signingSecret: string;
  keep: boolean;
}

/** `--auto`: the demo plays the people, and the terminal shows the channel. */
async function playStory({ say, cluster, slack, service, events, signingSecret, keep }: Story): Promise<boolean> {
  say(
    `redis-medic is running on ${service.url}: Slack app, workers and monitor, against the throwaway cluster "demo" (${cluster.seeds.join(' ')}). Its Slack is local: what the channel shows is printed here.`,
  );
  const victim = cluster.masters()[2]!;
  say(`Breaking it for real: SIGKILL the master ${victim.addr}, which has no replica. Nobody types anything yet.`);
  await cluster.kill(victim);
  const incident = await slack.waitFor('chat.postMessage', (m) => m.params.metadata?.event_type === 'redis_medic_incident', 30_000);
  const incidentTs = incident.response?.ts as string;

  say(`The monitor opened the incident thread by itself. Someone (${ASKER}) types: /redis-diagnose demo`);
  await send(
    slashCommand(events, signingSecret, {
      text: 'demo',
      user_id: ASKER,
      channel_id: CHANNEL,
      response_url: `${slack.responseUrlBase}cmd`,
    }),
  );
  // While an incident is open its thread is the one place for the outage: the fresh diagnosis
  // lands there, and the buttons are on the incident's fix message, edited in place.
  await slack.waitFor(
    'chat.postMessage',
    (m) => m.params.thread_ts === incidentTs && m.at > incident.at && /Diagnos/.test(String(m.params.text)),
  );

  // Approve the slots' reassignment, then what the monitor offers next (forgetting the dead
  // master's ghost: giving the slots away leaves it in every table), until the incident resolves.
  // A plan made while gossip still converged can be refused as out of date and offered again.
  const resolvedEdit = (m: RecordedCall): boolean =>
    m.params.ts === incidentTs && /Resolved after/.test(JSON.stringify(m.params.blocks ?? m.params.text));
  const resolved = slack.waitFor('chat.update', resolvedEdit, 90_000);
  let isResolved = false;
  void resolved.then(
    () => {
      isResolved = true;
    },
    () => undefined,
  );
  const clicked = new Set<string>();
  while (!isResolved) {
    const stop = new AbortController();
    const offer = await Promise.race([
      resolved.then(() => undefined),
      buttonInThread(slack, incidentTs, /^Approve: (Assign slots|Forget)/, 90_000, stop.signal, clicked),
    ]).finally(() => stop.abort());
    if (!offer) break;
    const { message, button } = offer;
    clicked.add(button.value);
    if (/^Approve: Forget/.test(button.text?.text))
      say('The monitor still sees the dead master as a ghost and offers to forget it, in the incident thread.');
    say(`The on-call approver (${ON_CALL}) reads the confirm dialog and clicks "${button.text?.text}"`);
    const clickedAt = Date.now();
    await send(
      interaction(
        events,
        signingSecret,
        buttonClick({
          actionId: button.action_id,
          value: button.value,
          userId: ON_CALL,
          channel: CHANNEL,
          messageTs: message.ts,
          threadTs: incidentTs,
          responseUrl: `${slack.responseUrlBase}click`,
        }),
      ),
    );
    await slack.waitFor(
      'chat.postMessage',
      (m) => m.params.thread_ts === incidentTs && /Repair/.test(String(m.params.text)) && m.at >= clickedAt,
      60_000,
    );
  }
  await resolved;
  say('Repaired, verified on every node, and the incident thread says how long it took.');
  if (keep) {
    say(`Still running on ${service.url} (try: redis-medic diagnose ${cluster.seeds[0]}). Ctrl-C stops and cleans up.`);
    await untilStopped();
  }
  return true;
}

/** The first button matching `pattern` in the thread as the channel holds it now (messages are edited in place). */
async function buttonInThread(
  slack: Awaited<ReturnType<typeof startFakeSlack>>,
  threadTs: string,
  pattern: RegExp,
  timeoutMs = 60_000,
  signal?: AbortSignal,
  skip: ReadonlySet<string> = new Set(),
): Promise<{ message: StoredMessage; button: any }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const message of slack.messages) {
      if (message.thread_ts !== threadTs || !Array.isArray(message.blocks)) continue;
      for (const block of message.blocks as any[]) {
        const button = ((block.type === 'actions' ? block.elements : []) as any[]).find(
          (e) => e.type === 'button' && pattern.test(String(e.text?.text)) && !skip.has(e.value),
        );
        if (button) return { message, button };
      }
    }
    if (signal?.aborted) throw new Error('no longer waited for');
    if (Date.now() > deadline) throw new Error(`no button matching ${pattern} in the incident thread within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
