import crypto from 'node:crypto';
import { parseConfig } from '../config/load';
import { createLogger } from '../logging/logger';
import { startService } from '../service';
import { spawnCluster } from './local-cluster';
import { buttonsIn, startFakeSlack, type RecordedCall } from './local-slack';
import { deleteQueueKeys } from './queue-keys';
import { redisAnswers, startThrowawayRedis, type ThrowawayRedis } from './redis-server';
import { renderCall } from './render-blocks';
import { buttonClick, interaction, send, slashCommand } from './slack-requests';

export interface ServeDemoIO {
  stdout: (text: string) => void;
}

const CHANNEL = 'C0DEMO';
const ON_CALL = 'U0ONCALL';
const ASKER = 'U0ASKER';

/**
 * The whole product on a throwaway cluster, with a local Slack that prints what a channel would
 * show: `redis-medic start` (Slack app, workers, monitor) runs for real; the demo breaks the
 * cluster, then plays the people: someone types /redis-diagnose, the on-call approver clicks.
 */
export async function runServeDemo(io: ServeDemoIO, options: { keep: boolean }): Promise<boolean> {
  const say = (text: string): void => io.stdout(`\n>>> ${text}\n`);
  const cluster = await spawnCluster({ masters: 3, spares: 1 });
  let queue: ThrowawayRedis | undefined;
  const queueUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!(await redisAnswers(queueUrl))) queue = await startThrowawayRedis();
  const slack = await startFakeSlack({
    onCall: (call) => {
      const text = renderCall(call);
      if (text) io.stdout(text);
    },
  });
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
  const service = await startService(config, { logger: createLogger({ level: 'warn' }, process.stderr as never), port: 0 });
  const events = `${service.url}/slack/events`;
  try {
    say(
      `redis-medic is running on ${service.url}: Slack app, workers and monitor, against the throwaway cluster "demo" (${cluster.seeds.join(' ')}). Its Slack is local: what the channel shows is printed here.`,
    );
    const victim = cluster.masters()[2]!;
    say(`Breaking it for real: SIGKILL the master ${victim.addr}, which has no replica. Nobody types anything yet.`);
    await cluster.kill(victim);
    const incident = await slack.waitFor('chat.postMessage', (m) => m.params.metadata?.event_type === 'redis_medic_incident', 30_000);

    say(`The monitor opened the incident thread by itself. Someone (${ASKER}) types: /redis-diagnose demo`);
    await send(
      slashCommand(events, signingSecret, {
        text: 'demo',
        user_id: ASKER,
        channel_id: CHANNEL,
        response_url: `${slack.responseUrlBase}cmd`,
      }),
    );
    const isApproveMessage = (m: RecordedCall): boolean => buttonsIn([m]).some((b) => b.actionId.startsWith('redis_medic.approve'));
    const fixes = await slack.waitFor(
      'chat.postMessage',
      (m) => isApproveMessage(m) && m.at > incident.at && m.params.thread_ts !== incident.response?.ts,
      30_000,
    );
    const approve = buttonsIn([fixes]).find((b) => b.actionId.startsWith('redis_medic.approve'))!;

    const click = async (message: RecordedCall, button: ReturnType<typeof buttonsIn>[number]): Promise<void> => {
      say(`The on-call approver (${ON_CALL}) reads the confirm dialog and clicks "${button.text}"`);
      await send(
        interaction(
          events,
          signingSecret,
          buttonClick({
            actionId: button.actionId,
            value: button.value,
            userId: ON_CALL,
            channel: CHANNEL,
            messageTs: message.response!.ts as string,
            threadTs: message.params.thread_ts as string,
            responseUrl: `${slack.responseUrlBase}click`,
          }),
        ),
      );
      await slack.waitFor(
        'chat.postMessage',
        (m) => m.params.thread_ts === message.params.thread_ts && /Repair/.test(String(m.params.text)) && m.at > message.at,
        60_000,
      );
    };
    await click(fixes, approve);

    // Giving the slots away leaves the dead master as a ghost: the incident stays open until it
    // is forgotten too, and the monitor offers that fix in the incident thread.
    const incidentTs = incident.response?.ts as string;
    const resolvedEdit = (m: RecordedCall): boolean =>
      m.params.ts === incidentTs && /Resolved after/.test(JSON.stringify(m.params.blocks ?? m.params.text));
    const resolved = slack.waitFor('chat.update', resolvedEdit, 60_000);
    const forget = await Promise.race([
      resolved.then(() => undefined),
      slack.waitFor(
        'chat.postMessage',
        (m) => m.params.thread_ts === incidentTs && buttonsIn([m]).some((b) => /^Approve: Forget/.test(b.text)),
        60_000,
      ),
    ]);
    if (forget) {
      say('The monitor still sees the dead master as a ghost and offers to forget it, in the incident thread.');
      await click(forget, buttonsIn([forget]).find((b) => /^Approve: Forget/.test(b.text))!);
    }
    await resolved;
    say('Repaired, verified on every node, and the incident thread says how long it took.');
    if (options.keep) {
      say(`Still running on ${service.url} (try: redis-medic diagnose ${cluster.seeds[0]}). Ctrl-C stops and cleans up.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    return true;
  } finally {
    say('Cleaning up: stopping redis-medic, the cluster and the local Slack.');
    await service.stop('demo finished');
    await deleteQueueKeys(prefix, undefined, queue?.url ?? queueUrl).catch(() => undefined);
    await slack.close();
    await cluster.teardown();
    await queue?.stop();
  }
}
