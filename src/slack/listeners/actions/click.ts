import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';

export type ButtonArgs = AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>;

/** The parts of a button click every handler uses. */
export interface Click {
  user: string;
  value: string;
  channel: string | undefined;
  messageTs: string | undefined;
  responseUrl: string | undefined;
  /** The blocks of the clicked message as Slack sent them (to restore them if needed). */
  blocks: unknown[] | undefined;
}

export function clickOf({ body, action }: Pick<ButtonArgs, 'body' | 'action'>): Click {
  const container = body.container as { channel_id?: string; message_ts?: string } | undefined;
  return {
    user: body.user.id,
    value: action.value ?? '',
    channel: body.channel?.id ?? container?.channel_id,
    messageTs: container?.message_ts ?? body.message?.ts,
    responseUrl: body.response_url,
    blocks: body.message?.blocks as unknown[] | undefined,
  };
}
