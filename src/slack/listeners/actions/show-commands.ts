import { errorMessage } from '../../../errors';
import { evaluateApproval } from '../../approvals';
import { dryRunMessage, expiredMessage, refusalMessage } from '../../blocks/repair';
import type { SlackContext } from '../../context';
import { respondEphemeral } from '../../http-client';
import { afterAck, clickOf, type ButtonArgs } from './click';

/** "Show commands": the whole plan, ephemeral, to the clicker only. Runs nothing. */
export function showCommandsAction(ctx: SlackContext) {
  return afterAck('show-commands', ctx.logger, async (args: ButtonArgs): Promise<void> => {
    const click = clickOf(args);
    const log = ctx.logger.child({ component: 'slack', action: 'dry-run', user: click.user });
    let payload: ReturnType<typeof ctx.signer.verify>;
    try {
      payload = ctx.signer.verify(click.value);
      if (payload.kind !== 'dry-run') throw new Error('not a dry-run button');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'refused a dry-run button value');
      await respondEphemeral(click.responseUrl, refusalMessage("This button's value was altered or is not one of ours: refused."), log);
      return;
    }
    const approval = await ctx.approvals.get(payload.approvalId);
    const refusal = evaluateApproval({ payload, approval, user: click.user, now: ctx.now(), policy: ctx.config.approvals });
    if (refusal || !approval) {
      const message =
        refusal?.reason === 'unknown_approval'
          ? expiredMessage(refusal.message, ctx.signer.sign({ kind: 'rediagnose', cluster: payload.cluster }))
          : refusalMessage(refusal?.message ?? 'refused');
      await respondEphemeral(click.responseUrl, message, log);
      return;
    }
    const plan = approval.plans.find((p) => p.id === payload.planId)!;
    await respondEphemeral(click.responseUrl, dryRunMessage(approval.cluster, plan), log);
  });
}
