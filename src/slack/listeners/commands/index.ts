import type { App } from '@slack/bolt';
import type { SlackContext } from '../../context';
import { COMMAND } from '../../ids';
import { redisDiagnoseCommand } from './redis-diagnose';

export function register(app: App, ctx: SlackContext): void {
  app.command(COMMAND, redisDiagnoseCommand(ctx));
}
