import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { Logger } from '../../../logging/logger';
import { errorMessage } from '../../../errors';
import { maintenanceSilence, parseSilenceDuration, type Silence } from '../../../incidents/silences';
import { approversFor } from '../../approvals';
import { refusedClusterMessage, silenceLine, silenceMessage, slackDate } from '../../blocks/command';
import { escapeMrkdwn } from '../../blocks/text';
import { resolveTypedCluster, type CommandRequest } from '../../command-grammar';
import type { SlackContext } from '../../context';
import { respondEphemeral } from '../../http-client';

type CommandArgs = AllMiddlewareArgs & SlackCommandMiddlewareArgs;
type SilenceRequest = Extract<CommandRequest, { kind: 'silence' | 'unsilence' }>;

/**
 * `/redis-diagnose silence <cluster> <duration> [reason]` and `unsilence <cluster>`: approvers
 * only. A bad cluster or duration is answered in the ack and changes nothing; then the approver
 * check (it may ask Slack for user group members), the change in the queue Redis, the audit entry.
 */
export async function silenceCommand(
  ctx: SlackContext,
  command: CommandArgs['command'],
  ack: CommandArgs['ack'],
  request: SilenceRequest,
  log: Logger,
): Promise<void> {
  const user = command.user_id;
  const resolution = resolveTypedCluster(ctx.config, request.ref);
  if (!resolution.ok) {
    await ack({ response_type: 'ephemeral', ...refusedClusterMessage(resolution.message) });
    return;
  }
  const { cluster } = resolution;
  const duration = request.kind === 'silence' ? parseSilenceDuration(request.duration) : null;
  if (duration && !duration.ok) {
    await ack({ response_type: 'ephemeral', ...refusedClusterMessage(`Nothing changed: ${duration.message}`) });
    return;
  }
  await ack();
  const reply = (text: string) => respondEphemeral(command.response_url, silenceMessage(text), log);
  const name = escapeMrkdwn(cluster.name);

  const approver = await ctx.isApprover(user, approversFor(ctx.config, cluster));
  if (!approver.allowed) {
    await ctx.audit.record({
      action: 'silence.refused',
      cluster: cluster.name,
      actor: user,
      details: { command: request.kind, reason: approver.detail },
    });
    await reply(`:no_entry: Only approvers of *${name}* may ${request.kind} it (${escapeMrkdwn(approver.detail)}). Nothing changed.`);
    return;
  }

  const now = ctx.now();
  try {
    if (request.kind === 'silence' && duration?.ok) {
      const silence: Silence = {
        cluster: cluster.name,
        at: now,
        until: now + duration.ms,
        reason: request.reason,
        by: user,
        source: 'command',
      };
      await ctx.silences.set(silence, now);
      await ctx.audit.record({
        action: 'silence.set',
        cluster: cluster.name,
        actor: user,
        details: { until: new Date(silence.until).toISOString(), durationMs: duration.ms, reason: request.reason },
      });
      log.info({ cluster: cluster.name, until: new Date(silence.until).toISOString() }, 'cluster silenced');
      await reply(
        `:no_bell: *${name}* is silenced until ${slackDate(silence.until)}: the monitor keeps polling and recording, but opens no incident thread and pages nobody. \`/redis-diagnose unsilence ${name}\` ends it.`,
      );
      return;
    }
    const before = await ctx.silences.clear(cluster.name, now);
    const window = maintenanceSilence(cluster, now);
    await ctx.audit.record({
      action: 'silence.cleared',
      cluster: cluster.name,
      actor: user,
      details: { was: before ? { until: new Date(before.until).toISOString(), by: before.by, reason: before.reason } : null },
    });
    const windowNote = window ? ` A maintenance window in the configuration still silences it: ${silenceLine(window)}.` : '';
    await reply(
      before
        ? `:bell: *${name}* is no longer silenced (it was ${silenceLine(before).replace(':no_bell: ', '')}).${windowNote}`
        : `*${name}* was not silenced.${windowNote}`,
    );
  } catch (err) {
    log.error({ err: errorMessage(err), cluster: cluster.name }, `could not ${request.kind} the cluster`);
    await reply(`:warning: Could not ${request.kind} *${name}*: ${escapeMrkdwn(errorMessage(err))}. Nothing changed.`);
  }
}
