import type { ClusterConfig } from '../config/schema';
import { errorMessage } from '../errors';
import type { MessageBody } from './blocks/kit';
import { alreadyRunningMessage, incidentThreadAnswer } from './blocks/command';
import { diagnosingMessage } from './blocks/diagnosis';
import { refusalMessage } from './blocks/repair';
import { escapeMrkdwn } from './blocks/text';
import type { SlackContext } from './context';
import { respondEphemeral, slackFailureOf, type SlackFailure } from './http-client';
import { openIncidentThread, permalinkOf } from './open-incident';
import { plural } from '../text';

export interface DiagnosisAsk {
  cluster: ClusterConfig;
  user: string;
  /** Where the command or button was used; the answer goes to the cluster's channel if it has one. */
  invokedChannel: string;
  responseUrl?: string;
  kind: 'diagnose' | 'audit';
  /** The in-flight claim from claimDiagnosis, given back if nothing gets started. */
  claimToken?: string;
}

/**
 * One diagnosis per cluster in flight (issue 11 §3): `start` with a claim token, or the answer
 * for this asker pointing at the diagnosis already running. If the queue Redis cannot say, the
 * ask goes ahead unclaimed (the replay guard before this has just used the same Redis, so this
 * is rare, and refusing would leave someone at 3 a.m. without a diagnosis).
 */
export async function claimDiagnosis(
  ctx: SlackContext,
  ask: Pick<DiagnosisAsk, 'cluster' | 'user' | 'kind'>,
): Promise<{ start: true; claimToken?: string } | { start: false; answer: MessageBody }> {
  try {
    const claim = await ctx.inflight.claim({ cluster: ask.cluster.name, kind: ask.kind, askedBy: ask.user, since: ctx.now() });
    if (claim.claimed) return { start: true, claimToken: claim.token };
    ctx.logger.info(
      { component: 'slack', cluster: ask.cluster.name, user: ask.user, runningSince: claim.current.since },
      'diagnosis already running: pointed the asker at it',
    );
    return { start: false, answer: alreadyRunningMessage(claim.current, ctx.now()) };
  } catch (err) {
    ctx.logger.warn({ component: 'slack', err: errorMessage(err) }, 'could not check for a diagnosis in flight; starting one');
    return { start: true };
  }
}

/** Where a diagnosis of this cluster is posted. */
export function answerChannel(cluster: ClusterConfig, invokedChannel: string): string {
  return cluster.channel ?? invokedChannel;
}

/**
 * After the ack: post the "Diagnosing..." root message, remember what was asked, and queue the
 * diagnosis. The worker edits that root message with the answer. No cluster I/O happens here.
 *
 * While an incident is open for the cluster (issue 13 §3), the diagnosis goes in the incident's
 * thread instead of a second root message, and the asker is answered with a link to it; the
 * worker then points at the incident's fix message instead of offering buttons of its own.
 */
export async function startDiagnosis(ctx: SlackContext, ask: DiagnosisAsk): Promise<{ ts: string; jobId: string } | null> {
  const { cluster, user } = ask;
  const log = ctx.logger.child({ component: 'slack', cluster: cluster.name });
  // Prevention checks answer risks, never the outage: they keep their own message.
  const incident = ask.kind === 'diagnose' ? await openIncidentThread(ctx.incidents, cluster.name, log) : null;
  const channel = incident ? incident.channel : answerChannel(cluster, ask.invokedChannel);
  const threadTs = incident?.rootTs;
  await ctx.audit.record({
    action: 'diagnosis.requested',
    cluster: cluster.name,
    actor: user,
    details: { via: 'slack', kind: ask.kind, channel, ...(incident ? { incidentId: incident.id } : {}) },
  });

  let ts: string;
  try {
    const seeds = cluster.seeds.length;
    const note =
      ask.kind === 'audit'
        ? `prevention checks, asking ${plural(seeds, 'seed node')}…`
        : incident
          ? `a fresh diagnosis during the incident, asking ${plural(seeds, 'seed node')}…`
          : `asking ${plural(seeds, 'seed node')}…`;
    const message = diagnosingMessage(cluster.name, note);
    const result = await ctx.client.chat.postMessage({
      channel,
      text: message.text,
      blocks: message.blocks,
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    if (!result.ts) throw new Error('chat.postMessage returned no ts');
    ts = result.ts;
  } catch (err) {
    const failure = slackFailureOf(err);
    log.warn({ err: errorMessage(err), channel, failure: failure.kind }, 'could not post the diagnosis root message');
    if (failure.kind === 'rate-limited' || failure.kind === 'unanswered') return queueWithoutRoot(ctx, ask, channel, failure, threadTs);
    await releaseClaim(ctx, ask);
    await respondEphemeral(
      ask.responseUrl,
      refusalMessage(
        failure.kind === 'not-in-channel'
          ? `I could not post in <#${channel}> (${escapeMrkdwn(failure.detail)}). Invite me there (\`/invite @redis-medic\`) and try again. Nothing was diagnosed.`
          : `Slack refused my message in <#${channel}> (${escapeMrkdwn(failure.detail)}). Nothing was diagnosed.`,
      ),
      log,
    );
    return null;
  }

  await ctx.states
    .saveRequest(channel, ts, { kind: ask.kind, requestedBy: user })
    .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not store the request record'));
  // One permalink per diagnosis: later askers (coalesced) and this one are pointed at it.
  const permalink = ask.claimToken || incident ? await permalinkOf(ctx.client, channel, ts) : null;
  if (ask.claimToken) await attachThread(ctx, ask, channel, ts, permalink);
  try {
    const jobId = await ctx.enqueuer.enqueueDiagnosis({
      cluster: cluster.name,
      origin: {
        kind: 'slack',
        channel,
        user,
        messageTs: ts,
        ...(threadTs ? { threadTs } : {}),
        ...(ask.responseUrl ? { responseUrl: ask.responseUrl } : {}),
      },
    });
    if (incident) {
      log.info({ incident: incident.id, channel, ts }, 'diagnosis asked during an open incident: answering in its thread');
      await respondEphemeral(ask.responseUrl, incidentThreadAnswer({ cluster: cluster.name, kind: ask.kind, channel, permalink }), log);
    }
    return { ts, jobId };
  } catch (err) {
    log.error({ err: errorMessage(err) }, 'could not queue the diagnosis');
    await releaseClaim(ctx, ask);
    await ctx.audit.record({ action: 'diagnosis.failed', cluster: cluster.name, actor: user, details: { reason: 'queue unavailable' } });
    const message = diagnosingMessage(
      cluster.name,
      `could not queue the diagnosis (${errorMessage(err)}). Nothing ran; try again in a minute.`,
    );
    await ctx.client.chat
      .update({ channel, ts, text: message.text, blocks: message.blocks })
      .catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'could not edit the root message'));
    return null;
  }
}

/**
 * Slack is rate-limiting the channel (or did not answer): the "Diagnosing..." message could not
 * be posted, but the diagnosis is queued all the same; the worker posts its answer as a new
 * message once Slack lets it through. The asker is told exactly that.
 */
async function queueWithoutRoot(
  ctx: SlackContext,
  ask: DiagnosisAsk,
  channel: string,
  failure: SlackFailure,
  threadTs?: string,
): Promise<{ ts: string; jobId: string } | null> {
  const log = ctx.logger.child({ component: 'slack', cluster: ask.cluster.name });
  const why =
    failure.kind === 'rate-limited'
      ? `Slack is rate-limiting messages in <#${channel}> right now`
      : `Slack did not answer in time (${escapeMrkdwn(failure.detail)})`;
  try {
    const jobId = await ctx.enqueuer.enqueueDiagnosis({
      cluster: ask.cluster.name,
      origin: {
        kind: 'slack',
        channel,
        user: ask.user,
        ...(threadTs ? { threadTs } : {}),
        ...(ask.responseUrl ? { responseUrl: ask.responseUrl } : {}),
      },
    });
    await respondEphemeral(
      ask.responseUrl,
      refusalMessage(
        `${why}, so the "Diagnosing…" message is not there yet. Your ${ask.kind === 'audit' ? 'prevention check' : 'diagnosis'} of *${escapeMrkdwn(ask.cluster.name)}* is queued: its answer will be posted in <#${channel}> as soon as Slack lets it through (retrying). No need to ask again.`,
      ),
      log,
    );
    return { ts: '', jobId };
  } catch (err) {
    log.error({ err: errorMessage(err) }, 'could not queue the diagnosis');
    await releaseClaim(ctx, ask);
    await respondEphemeral(
      ask.responseUrl,
      refusalMessage(
        `${why}, and the diagnosis could not be queued either (${escapeMrkdwn(errorMessage(err))}). Nothing ran; try again in a minute.`,
      ),
      log,
    );
    return null;
  }
}

/** Later askers are pointed at this root message: one permalink per diagnosis, not per asker. */
async function attachThread(ctx: SlackContext, ask: DiagnosisAsk, channel: string, ts: string, permalink: string | null): Promise<void> {
  await ctx.inflight
    .attach(ask.cluster.name, ask.kind, ask.claimToken!, { channel, ts, ...(permalink ? { permalink } : {}) })
    .catch((err: unknown) => ctx.logger.warn({ err: errorMessage(err) }, 'could not record where the diagnosis answers'));
}

async function releaseClaim(ctx: SlackContext, ask: DiagnosisAsk): Promise<void> {
  if (!ask.claimToken) return;
  await ctx.inflight.release(ask.cluster.name, ask.kind, { token: ask.claimToken }).catch(() => undefined);
}

export function slackError(err: unknown): string {
  const code = (err as { data?: { error?: string } } | undefined)?.data?.error;
  return code ?? errorMessage(err);
}
