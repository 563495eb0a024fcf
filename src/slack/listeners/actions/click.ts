import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { errorMessage } from '../../../errors';
import type { Logger } from '../../../logging/logger';
import { refusalMessage } from '../../blocks/repair';
import { escapeMrkdwn } from '../../blocks/text';
import { respondEphemeral } from '../../http-client';

export type ButtonArgs = AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>;

/** The parts of a button click every handler uses. */
export interface Click {
  user: string;
  value: string;
  channel: string | undefined;
  messageTs: string | undefined;
  responseUrl: string | undefined;
}

export function clickOf({ body, action }: Pick<ButtonArgs, 'body' | 'action'>): Click {
  const container = body.container as { channel_id?: string; message_ts?: string } | undefined;
  return {
    user: body.user.id,
    value: action.value ?? '',
    channel: body.channel?.id ?? container?.channel_id,
    messageTs: container?.message_ts ?? body.message?.ts,
    responseUrl: body.response_url,
  };
}

/**
 * Runs a click handler after its ack; anything unexpected (the queue Redis down, Slack failing)
 * is logged and told to the clicker instead of vanishing into Bolt's error log.
 */
export function afterAck(name: string, logger: Logger, handler: (args: ButtonArgs) => Promise<void>): (args: ButtonArgs) => Promise<void> {
  return async (args) => {
    await args.ack();
    try {
      await handler(args);
    } catch (err) {
      const log = logger.child({ component: 'slack', action: name, user: args.body.user.id });
      log.error({ err: errorMessage(err) }, `the ${name} click failed`);
      await respondEphemeral(
        args.body.response_url,
        refusalMessage(`Could not handle this click (${escapeMrkdwn(errorMessage(err))}). Nothing ran; try again in a minute.`),
        log,
      );
    }
  };
}
