import type { WebClient } from '@slack/web-api';
import type { Approvers } from '../config/schema';
import { errorMessage } from '../errors';
import type { Logger } from '../logging/logger';
import type { ApproverCheck } from './approvals';

export interface ApproverCheckerOptions {
  client: WebClient;
  logger: Logger;
  now?: () => number;
  /** How long a user group's member list is trusted (default 60 s). */
  cacheMs?: number;
}

/**
 * Whether a Slack user may approve: listed by id, or a member of a listed user group
 * (usergroups.users.list, cached briefly). Fails closed: if Slack cannot say, the answer is no.
 */
export function createApproverChecker(options: ApproverCheckerOptions): (user: string, approvers: Approvers) => Promise<ApproverCheck> {
  const now = options.now ?? Date.now;
  const cacheMs = options.cacheMs ?? 60_000;
  const cache = new Map<string, { members: Set<string>; at: number }>();

  async function membersOf(group: string): Promise<Set<string>> {
    const cached = cache.get(group);
    if (cached && now() - cached.at < cacheMs) return cached.members;
    const result = await options.client.usergroups.users.list({ usergroup: group });
    const members = new Set(result.users ?? []);
    cache.set(group, { members, at: now() });
    return members;
  }

  return async (user, approvers) => {
    if (approvers.users.includes(user)) return { allowed: true, detail: 'listed approver' };
    const failures: string[] = [];
    for (const group of approvers.usergroups) {
      try {
        if ((await membersOf(group)).has(user)) return { allowed: true, detail: `member of user group ${group}` };
      } catch (err) {
        options.logger.warn({ err: errorMessage(err), group }, 'approvers: could not list the members of a user group');
        failures.push(group);
      }
    }
    if (approvers.users.length === 0 && approvers.usergroups.length === 0) {
      return { allowed: false, detail: 'no approvers are configured' };
    }
    if (failures.length) return { allowed: false, detail: `could not check user group ${failures.join(', ')} with Slack` };
    return { allowed: false, detail: 'not in the approvers list' };
  };
}
