import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { parsePaste } from '../../../cluster/parse-paste';
import { analyseSnapshot, type DiagnosisRun } from '../../../engine';
import { errorMessage } from '../../../errors';
import { LIMITS, truncate } from '../../blocks/text';
import type { SlackContext } from '../../context';
import { PASTE_BLOCK, PASTE_INPUT } from '../../ids';
import { slackError } from '../../start-diagnosis';

export type ViewArgs = AllMiddlewareArgs & SlackViewMiddlewareArgs<ViewSubmitAction>;

/**
 * The paste modal's submit: parse and analyse the text (pure: no connection to anything). A
 * paste that does not parse keeps the modal open with the parse error under the input, and
 * nothing is posted; otherwise the report goes to the channel the command was used in.
 */
export function pasteSubmission(ctx: SlackContext) {
  return async ({ ack, view, body }: ViewArgs): Promise<void> => {
    const user = body.user.id;
    const log = ctx.logger.child({ component: 'slack', view: 'paste', user });
    const text = view.state.values[PASTE_BLOCK]?.[PASTE_INPUT]?.value ?? '';
    let run: DiagnosisRun;
    try {
      run = analyseSnapshot(parsePaste(text));
    } catch (err) {
      await ack({ response_action: 'errors', errors: { [PASTE_BLOCK]: truncate(errorMessage(err), LIMITS.inputError) } });
      return;
    }
    await ack();
    const meta = parseMetadata(view.private_metadata, user);
    await ctx.audit.record({
      action: 'diagnosis.completed',
      cluster: run.report.cluster,
      actor: user,
      details: { via: 'slack paste', offline: true, verdict: run.report.verdict, primary: run.report.primary },
    });
    try {
      await ctx.notifier.publishDiagnosis({ report: run.report, target: { channel: meta.channel }, requestedBy: user, mode: 'full' });
    } catch (err) {
      // Not a member of that channel (or a DM the bot cannot post in): answer the user directly.
      log.warn({ err: slackError(err), channel: meta.channel }, 'could not post the paste analysis in its channel; sending it to the user');
      await ctx.notifier
        .publishDiagnosis({ report: run.report, target: { channel: user }, requestedBy: user, mode: 'full' })
        .catch((e: unknown) => log.error({ err: slackError(e) }, 'could not post the paste analysis'));
    }
  };
}

function parseMetadata(text: string, user: string): { channel: string } {
  try {
    const parsed = JSON.parse(text) as { channel?: unknown };
    if (typeof parsed.channel === 'string' && parsed.channel) return { channel: parsed.channel };
  } catch {
    /* fall through */
  }
  return { channel: user };
}
