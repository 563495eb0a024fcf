import type { App, BlockButtonAction } from '@slack/bolt';
import type { SlackContext } from '../../context';
import { actionPattern, ACTIONS } from '../../ids';
import { approveFixAction } from './approve-fix';
import { rediagnoseAction } from './rediagnose';
import { showCommandsAction } from './show-commands';

export function register(app: App, ctx: SlackContext): void {
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: actionPattern(ACTIONS.approve) }, approveFixAction(ctx));
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: actionPattern(ACTIONS.dryRun) }, showCommandsAction(ctx));
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: actionPattern(ACTIONS.rediagnose) }, rediagnoseAction(ctx));
}
