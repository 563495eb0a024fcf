import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { silenceCommand } from './silence';
import { errorMessage } from '../../../errors';
import { helpMessage, listMessage, pasteModal, refusedClusterMessage, usageMessage } from '../../blocks/command';
import { escapeMrkdwn } from '../../blocks/text';
import { section } from '../../blocks/kit';
import { defaultRequest, parseCommandText, resolveTypedCluster } from '../../command-grammar';
import type { SlackContext } from '../../context';
import { respondEphemeral } from '../../http-client';
import { answerChannel, claimDiagnosis, startDiagnosis } from '../../start-diagnosis';

export type CommandArgs = AllMiddlewareArgs & SlackCommandMiddlewareArgs;

/**
 * `/redis-diagnose`: parse and resolve (pure, no I/O), ack within Slack's 3 s, then do the work.
 * Nothing typed here is ever used as an address to connect to.
 */
export function redisDiagnoseCommand(ctx: SlackContext) {
  return async ({ command, ack }: CommandArgs): Promise<void> => {
    const log = ctx.logger.child({ component: 'slack', command: command.command, user: command.user_id });
    const request = defaultRequest(ctx.config, parseCommandText(command.text ?? ''));
    switch (request.kind) {
      case 'help':
        await ack({ response_type: 'ephemeral', ...helpMessage(ctx.config) });
        return;
      case 'usage':
        await ack({ response_type: 'ephemeral', ...usageMessage(request.message, ctx.config) });
        return;
      case 'list': {
        await ack();
        const [states, silences] = await Promise.all([
          ctx.states.readLast().catch((err: unknown) => {
            log.warn({ err: errorMessage(err) }, 'could not read the last states');
            return new Map();
          }),
          ctx.silences.getAll(ctx.config.clusters.map((c) => c.name)).catch((err: unknown) => {
            log.warn({ err: errorMessage(err) }, 'could not read the silences');
            return new Map();
          }),
        ]);
        await respondEphemeral(command.response_url, listMessage(ctx.config, states, ctx.now(), silences), log);
        return;
      }
      case 'silence':
      case 'unsilence':
        await silenceCommand(ctx, command, ack, request, log);
        return;
      case 'paste': {
        await ack();
        try {
          await ctx.client.views.open({
            trigger_id: command.trigger_id,
            view: pasteModal(JSON.stringify({ channel: command.channel_id, user: command.user_id })),
          });
        } catch (err) {
          log.warn({ err: errorMessage(err) }, 'could not open the paste modal');
          await respondEphemeral(
            command.response_url,
            refusedClusterMessage(
              `Could not open the paste dialog (${errorMessage(err)}). Try again, or use \`redis-medic analyze\` on a shell.`,
            ),
            log,
          );
        }
        return;
      }
      case 'diagnose':
      case 'audit': {
        const resolution = resolveTypedCluster(ctx.config, request.ref);
        if (!resolution.ok) {
          await ack({ response_type: 'ephemeral', ...refusedClusterMessage(resolution.message) });
          await ctx.audit.record({
            action: 'request.rejected',
            cluster: '-',
            actor: command.user_id,
            details: { reason: 'unknown cluster or address', typed: request.ref.slice(0, 200) },
          });
          return;
        }
        const { cluster } = resolution;
        const channel = answerChannel(cluster, command.channel_id);
        const where = channel === command.channel_id ? '' : ` The answer goes to <#${channel}>.`;
        const via = resolution.viaAddress ? ` (${escapeMrkdwn(request.ref)} is a node of ${escapeMrkdwn(cluster.name)})` : '';
        const what = request.kind === 'audit' ? 'Running prevention checks on' : 'Diagnosing';
        const claim = await claimDiagnosis(ctx, { cluster, user: command.user_id, kind: request.kind });
        if (!claim.start) {
          // Answered in the ack: a flood of asks costs no Slack call and starts nothing.
          await ack({ response_type: 'ephemeral', ...claim.answer });
          return;
        }
        await ack({
          response_type: 'ephemeral',
          text: `${what} ${cluster.name}…`,
          blocks: [section(`${what} *${escapeMrkdwn(cluster.name)}*…${via}${where}`)],
        });
        await startDiagnosis(ctx, {
          cluster,
          user: command.user_id,
          invokedChannel: command.channel_id,
          responseUrl: command.response_url,
          kind: request.kind,
          ...(claim.claimToken ? { claimToken: claim.claimToken } : {}),
        });
        return;
      }
    }
  };
}
