import type { ClusterConfig } from '../config/schema';
import { errorMessage } from '../errors';
import { diagnosingMessage } from './blocks/diagnosis';
import { refusalMessage } from './blocks/repair';
import { escapeMrkdwn } from './blocks/text';
import type { SlackContext } from './context';
import { respondEphemeral } from './http-client';
import { plural } from '../text';

export interface DiagnosisAsk {
  cluster: ClusterConfig;
  user: string;
  /** Where the command or button was used; the answer goes to the cluster's channel if it has one. */
  invokedChannel: string;
  responseUrl?: string;
  kind: 'diagnose' | 'audit';
}

/** Where a diagnosis of this cluster is posted. */
export function answerChannel(cluster: ClusterConfig, invokedChannel: string): string {
  return cluster.channel ?? invokedChannel;
}

/**
 * After the ack: post the "Diagnosing..." root message, remember what was asked, and queue the
 * diagnosis. The worker edits that root message with the answer. No cluster I/O happens here.
 */
export async function startDiagnosis(ctx: SlackContext, ask: DiagnosisAsk): Promise<{ ts: string; jobId: string } | null> {
  const { cluster, user } = ask;
  const channel = answerChannel(cluster, ask.invokedChannel);
  const log = ctx.logger.child({ component: 'slack', cluster: cluster.name });
  await ctx.audit.record({ action: 'diagnosis.requested', cluster: cluster.name, actor: user, details: { via: 'slack', kind: ask.kind, channel } });

  let ts: string;
  try {
    const seeds = cluster.seeds.length;
    const note = ask.kind === 'audit' ? `prevention checks, asking ${plural(seeds, 'seed node')}…` : `asking ${plural(seeds, 'seed node')}…`;
    const message = diagnosingMessage(cluster.name, note);
    const result = await ctx.client.chat.postMessage({ channel, text: message.text, blocks: message.blocks });
    if (!result.ts) throw new Error('chat.postMessage returned no ts');
    ts = result.ts;
  } catch (err) {
    log.warn({ err: errorMessage(err), channel }, 'could not post the diagnosis root message');
    await respondEphemeral(ask.responseUrl, refusalMessage(
      `I could not post in <#${channel}> (${escapeMrkdwn(slackError(err))}). Invite me there (\`/invite @redis-medic\`) and try again. Nothing was diagnosed.`,
    ), log);
    return null;
  }

  await ctx.states.saveRequest(channel, ts, { kind: ask.kind, requestedBy: user })
    .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not store the request record'));
  try {
    const jobId = await ctx.enqueuer.enqueueDiagnosis({
      cluster: cluster.name,
      origin: { kind: 'slack', channel, user, messageTs: ts, ...(ask.responseUrl ? { responseUrl: ask.responseUrl } : {}) },
    });
    return { ts, jobId };
  } catch (err) {
    log.error({ err: errorMessage(err) }, 'could not queue the diagnosis');
    await ctx.audit.record({ action: 'diagnosis.failed', cluster: cluster.name, actor: user, details: { reason: 'queue unavailable' } });
    const message = diagnosingMessage(cluster.name, `could not queue the diagnosis (${errorMessage(err)}). Nothing ran; try again in a minute.`);
    await ctx.client.chat.update({ channel, ts, text: message.text, blocks: message.blocks })
      .catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'could not edit the root message'));
    return null;
  }
}

export function slackError(err: unknown): string {
  const code = (err as { data?: { error?: string } } | undefined)?.data?.error;
  return code ?? errorMessage(err);
}
