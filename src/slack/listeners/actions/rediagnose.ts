import { errorMessage } from '../../../errors';
import { refusalMessage } from '../../blocks/repair';
import { escapeMrkdwn } from '../../blocks/text';
import type { SlackContext } from '../../context';
import { respondEphemeral } from '../../http-client';
import { claimDiagnosis, startDiagnosis } from '../../start-diagnosis';
import { afterAck, clickOf, type ButtonArgs } from './click';

/** "Re-diagnose": a fresh diagnosis of the button's cluster, asked by whoever clicked. */
export function rediagnoseAction(ctx: SlackContext) {
  return afterAck('rediagnose', ctx.logger, async (args: ButtonArgs): Promise<void> => {
    const click = clickOf(args);
    const log = ctx.logger.child({ component: 'slack', action: 'rediagnose', user: click.user });
    let clusterName: string;
    try {
      const payload = ctx.signer.verify(click.value);
      if (payload.kind !== 'rediagnose') throw new Error('not a re-diagnose button');
      clusterName = payload.cluster;
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'refused a re-diagnose button value');
      await respondEphemeral(click.responseUrl, refusalMessage("This button's value was altered or is not one of ours: refused."), log);
      return;
    }
    const cluster = ctx.config.clusters.find((c) => c.name === clusterName);
    if (!cluster || !click.channel) {
      await respondEphemeral(click.responseUrl, refusalMessage(`Cluster ${escapeMrkdwn(clusterName)} is no longer configured.`), log);
      return;
    }
    const claim = await claimDiagnosis(ctx, { cluster, user: click.user, kind: 'diagnose' });
    if (!claim.start) {
      await respondEphemeral(click.responseUrl, claim.answer, log);
      return;
    }
    await startDiagnosis(ctx, {
      cluster,
      user: click.user,
      invokedChannel: click.channel,
      ...(click.responseUrl ? { responseUrl: click.responseUrl } : {}),
      kind: 'diagnose',
      ...(claim.claimToken ? { claimToken: claim.claimToken } : {}),
    });
  });
}
