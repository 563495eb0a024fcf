import type { App, ViewSubmitAction } from '@slack/bolt';
import type { SlackContext } from '../../context';
import { VIEWS } from '../../ids';
import { pasteSubmission } from './paste-submission';

export function register(app: App, ctx: SlackContext): void {
  app.view<ViewSubmitAction>({ callback_id: VIEWS.paste, type: 'view_submission' }, pasteSubmission(ctx));
}
