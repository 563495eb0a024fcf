import { errorMessage } from '../../../errors';
import { approversFor, approversNeeded, evaluateApproval, type ApprovalClaim, type ApprovalRecord, type Refusal } from '../../approvals';
import { approvalsLine, fixesMessage, type ApprovalProgress } from '../../blocks/diagnosis';
import { movedToIncidentMessage } from '../../blocks/incident';
import { expiredMessage, refusalMessage, runningMessage, voteRecordedMessage } from '../../blocks/repair';
import { approversText, escapeMrkdwn } from '../../blocks/text';
import { fixButtonValues, type ButtonPayload } from '../../button-value';
import type { SlackContext } from '../../context';
import { respondEphemeral } from '../../http-client';
import { incidentFixesLink, openIncidentThread } from '../../open-incident';
import { afterAck, clickOf, type ButtonArgs, type Click } from './click';

/**
 * "Approve: <plan>": ack at once, then check the signed value, the approval's age, the
 * approver and the two-person rule, then claim the approval atomically so that one approval
 * runs one repair however many people click. Every refusal is answered and audited.
 */
export function approveFixAction(ctx: SlackContext) {
  return afterAck('approve-fix', ctx.logger, async (args: ButtonArgs): Promise<void> => {
    const click = clickOf(args);
    const log = ctx.logger.child({ component: 'slack', action: 'approve', user: click.user });

    let payload: ButtonPayload;
    try {
      payload = ctx.signer.verify(click.value);
      if (payload.kind !== 'approve') throw new Error('not an approve button');
    } catch (err) {
      await refuse(
        ctx,
        click,
        '-',
        { reason: 'bad_value', message: "This button's value was altered or is not one of ours: refused, nothing ran." },
        { error: errorMessage(err) },
      );
      return;
    }

    const cluster = ctx.config.clusters.find((c) => c.name === payload.cluster);
    if (!cluster) {
      await refuse(
        ctx,
        click,
        payload.cluster,
        { reason: 'unknown_cluster', message: `Cluster ${escapeMrkdwn(payload.cluster)} is no longer configured: refused.` },
        { planId: payload.planId },
      );
      return;
    }
    const approval = await ctx.approvals.get(payload.approvalId);
    if (approval && approval.cluster === payload.cluster && (await outsideOpenIncident(ctx, click, approval, payload.planId, log))) return;
    const approver = approval ? await ctx.isApprover(click.user, approversFor(ctx.config, cluster)) : undefined;
    const refusal = evaluateApproval({
      payload,
      approval,
      user: click.user,
      now: ctx.now(),
      policy: ctx.config.approvals,
      ...(approver ? { approver } : {}),
    });
    const details = { approvalId: payload.approvalId, planId: payload.planId };
    if (refusal) {
      await refuse(ctx, click, payload.cluster, refusal, details);
      return;
    }
    const record = approval as ApprovalRecord;
    const plan = record.plans.find((p) => p.id === payload.planId)!;
    const alreadyApproved = async (by: ApprovalClaim | null): Promise<void> =>
      refuse(
        ctx,
        click,
        record.cluster,
        {
          reason: 'already_approved',
          message: by
            ? `Already approved by ${approversText((by.approvers ?? [by.user]).join('+'))} (${escapeMrkdwn(record.plans.find((p) => p.id === by.planId)?.title ?? by.planId)}); one approval runs one repair.`
            : 'Already approved; one approval runs one repair.',
        },
        { ...details, ...(by ? { approvedBy: by.user } : {}) },
      );

    // A high-risk plan may need several distinct approvers (approvals.highRiskApprovers): each
    // click is a vote until the last one needed, which claims the approval for all of them.
    let approvers = [click.user];
    const needed = approversNeeded(plan, ctx.config.approvals);
    if (needed > 1) {
      const used = await ctx.approvals.claimOf(record.id);
      if (used) return alreadyApproved(used);
      const { voters, added } = await ctx.approvals.vote(record.id, plan.id, click.user, ctx.now());
      if (voters.length < needed) {
        if (added)
          await ctx.audit.record({
            action: 'repair.vote',
            cluster: record.cluster,
            actor: click.user,
            details: { ...details, title: plan.title, voters, needed, via: approver?.detail },
          });
        await showVotes(ctx, click, record, log);
        await respondEphemeral(click.responseUrl, voteRecordedMessage(approvalsLine(voters, needed), added), log);
        return;
      }
      approvers = voters;
    }

    const claim: ApprovalClaim = { user: click.user, planId: plan.id, at: ctx.now(), ...(needed > 1 ? { approvers } : {}) };
    const claimed = await ctx.approvals.claim(record.id, claim);
    if (!claimed.claimed) return alreadyApproved(claimed.by);
    const approvedBy = approvers.join('+');
    await ctx.audit.record({
      action: 'repair.approved',
      cluster: record.cluster,
      actor: click.user,
      details: {
        ...details,
        title: plan.title,
        requestedBy: record.requestedBy,
        via: approver?.detail,
        ...(needed > 1 ? { approvers } : {}),
      },
    });

    if (click.channel && click.messageTs) {
      const running = runningMessage({ cluster: record.cluster, plan, approvedBy, steps: [] });
      await ctx.client.chat
        .update({ channel: click.channel, ts: click.messageTs, text: running.text, blocks: running.blocks })
        .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not edit the buttons away'));
    }
    try {
      await ctx.enqueuer.enqueueRepair({
        cluster: record.cluster,
        planId: plan.id,
        approvalId: record.id,
        approvedBy,
        approval: ctx.approvalSigner.sign({ id: record.id, cluster: record.cluster, planId: plan.id, approvers, claimedAt: claim.at }),
        approvedPlan: plan,
        origin: {
          kind: 'slack',
          channel: click.channel ?? record.channel,
          user: click.user,
          ...(click.messageTs ? { messageTs: click.messageTs } : {}),
          ...(record.threadTs ? { threadTs: record.threadTs } : {}),
          ...(click.responseUrl ? { responseUrl: click.responseUrl } : {}),
        },
      });
    } catch (err) {
      // Nothing ran: give the approval back and the buttons too, so it can be clicked again.
      log.error({ err: errorMessage(err) }, 'could not queue the repair');
      await ctx.approvals.release(record.id, claim).catch(() => undefined);
      await redrawButtons(ctx, click, record, log, 'could not put the buttons back');
      await ctx.audit.record({
        action: 'repair.refused',
        cluster: record.cluster,
        actor: click.user,
        details: { ...details, reason: 'queue_unavailable' },
      });
      await respondEphemeral(
        click.responseUrl,
        refusalMessage(
          `Could not queue the repair (${escapeMrkdwn(errorMessage(err))}). Nothing ran; the buttons are back, try again in a minute.`,
        ),
        log,
      );
    }
  });
}

/**
 * Buttons posted outside the thread of an incident that is open now (a /redis-diagnose answer
 * from before the incident): two threads must never offer the same approvals, so they run
 * nothing, answer with a link to the incident's fix message, and lose their buttons.
 */
async function outsideOpenIncident(
  ctx: SlackContext,
  click: Click,
  approval: ApprovalRecord,
  planId: string,
  log: SlackContext['logger'],
): Promise<boolean> {
  const incident = await openIncidentThread(ctx.incidents, approval.cluster, log);
  if (!incident || approval.threadTs === incident.rootTs) return false;
  const pointer = await incidentFixesLink(ctx.client, incident);
  await ctx.approvals
    .supersede(approval.id, { approvalId: incident.fixes?.approvalId ?? '', ts: incident.fixes?.ts ?? incident.rootTs, permalink: pointer })
    .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not mark the approval superseded'));
  // Approved from already: the message tells that repair's story; leave it.
  if (click.channel && click.messageTs && !(await ctx.approvals.claimOf(approval.id).catch(() => null))) {
    const moved = movedToIncidentMessage({ cluster: approval.cluster, pointer, plans: approval.plans.length });
    await ctx.client.chat
      .update({ channel: click.channel, ts: click.messageTs, text: moved.text, blocks: moved.blocks })
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not retire the buttons'));
  }
  const where = pointer ? `the incident's fix message: ${escapeMrkdwn(pointer)}` : "the fix message of the incident's thread";
  await refuse(
    ctx,
    click,
    approval.cluster,
    {
      reason: 'superseded',
      message: `An incident is open for ${escapeMrkdwn(approval.cluster)}: its thread is the one place for this outage, so these buttons were retired and nothing ran. The current plans and buttons are in ${where}.`,
    },
    { approvalId: approval.id, planId, incidentId: incident.id },
  );
  return true;
}

async function approvalProgress(ctx: SlackContext, record: ApprovalRecord): Promise<ApprovalProgress> {
  const voters = await ctx.approvals.votes(record.id).catch(() => ({}));
  return { needed: (p) => approversNeeded(p, ctx.config.approvals), voters };
}

/** The buttons message shows "1 of 2 approvals: @a" under the plan, for everyone in the thread. */
function showVotes(ctx: SlackContext, click: Click, record: ApprovalRecord, log: SlackContext['logger']): Promise<void> {
  return redrawButtons(ctx, click, record, log, 'could not show the approvals so far');
}

/** Draws the clicked message's buttons again from the approval (votes so far included); a failure is logged as `failure`. */
async function redrawButtons(
  ctx: SlackContext,
  click: Click,
  record: ApprovalRecord,
  log: SlackContext['logger'],
  failure: string,
): Promise<void> {
  if (!click.channel || !click.messageTs) return;
  const message = fixesMessage(
    { cluster: record.cluster, fixes: record.plans, primary: null },
    fixButtonValues(ctx.signer, record),
    ctx.config.approvals.expiryMs,
    await approvalProgress(ctx, record),
  );
  await ctx.client.chat
    .update({ channel: click.channel, ts: click.messageTs, text: message.text, blocks: message.blocks })
    .catch((err: unknown) => log.warn({ err: errorMessage(err) }, failure));
}

async function refuse(ctx: SlackContext, click: Click, cluster: string, refusal: Refusal, details: Record<string, unknown>): Promise<void> {
  const log = ctx.logger.child({ component: 'slack', action: 'approve', user: click.user });
  await ctx.audit.record({
    action: 'repair.refused',
    cluster,
    actor: click.user,
    details: { ...details, reason: refusal.reason, message: refusal.message },
  });
  const message =
    refusal.reason === 'expired' || refusal.reason === 'unknown_approval'
      ? expiredMessage(refusal.message, ctx.signer.sign({ kind: 'rediagnose', cluster }))
      : refusalMessage(refusal.reason === 'not_approver' ? `Not allowed: ${refusal.message}` : refusal.message);
  await respondEphemeral(click.responseUrl, message, log);
}
