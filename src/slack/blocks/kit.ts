import type { types } from '@slack/bolt';

// Block Kit shapes from @slack/types (re-exported by Bolt), so builders are type-checked.
export type Block = types.KnownBlock;
export type SectionBlock = types.SectionBlock;
export type ActionsBlock = types.ActionsBlock;
export type Button = types.Button;
export type ConfirmationDialog = types.ConfirmationDialog;
export type ModalView = types.ModalView;

/** A message body: blocks plus the plain fallback text used in notifications. */
export interface MessageBody {
  text: string;
  blocks: Block[];
}

export function section(markdown: string, blockId?: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: markdown }, ...(blockId ? { block_id: blockId } : {}) };
}

export function context(markdown: string): Block {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: markdown }] };
}

export function header(text: string): Block {
  return { type: 'header', text: { type: 'plain_text', text, emoji: true } };
}

export const divider: Block = { type: 'divider' };
