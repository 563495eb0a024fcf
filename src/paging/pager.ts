// The pagers: a poll observer that turns the monitor's incident decisions (opened, reopened,
// resolved) into PagerDuty events and webhook POSTs for the clusters that configure them. It
// never holds up a poll: deliveries run in the background, one after another per target and
// incident (a resolve never overtakes its trigger), each with bounded retries.
import type { ClusterConfig, Config } from '../config/schema';
import type { PollObserver } from '../incidents/poll-observers';
import { errorMessage } from '../errors';
import type { Logger } from '../logging/logger';
import { deliverPage, type PageRequest, type PageResult, type RetryPolicy } from './deliver';
import { pageEventOf, type PageEvent } from './events';
import { pagerDutyEvent } from './pagerduty';
import { webhookBody } from './webhook';

export interface Pager {
  /** Hand to observePolls: returns at once, the pages go out in the background. */
  onPoll: PollObserver;
  /** Resolves when every page handed over so far has been delivered or given up (tests, shutdown). */
  idle(): Promise<void>;
  /**
   * Stops taking pages; waits up to `graceMs` for those under way, then cuts their retries short
   * (each one not delivered is logged). Safe to call twice.
   */
  close(graceMs?: number): Promise<void>;
}

export interface PagerDeps {
  config: Pick<Config, 'clusters' | 'paging'>;
  logger: Logger;
  /** Told about every page's end (tests, metrics). */
  onDelivered?: (request: PageRequest, result: PageResult) => void;
}

/** A pager for the configured clusters, or undefined when no cluster pages anyone. */
export function createPager(deps: PagerDeps): Pager | undefined {
  const paged = new Map(deps.config.clusters.filter(hasTargets).map((c) => [c.name, c]));
  if (paged.size === 0) return undefined;
  const log = deps.logger.child({ module: 'paging' });
  const { slackUrl, ...policy } = deps.config.paging;
  const retry: RetryPolicy = policy;
  const stop = new AbortController();
  /** The last delivery per target and incident: the next one waits for it. */
  const tails = new Map<string, Promise<void>>();
  let closing: Promise<void> | undefined;

  function send(key: string, request: PageRequest): void {
    const previous = tails.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        const result = await deliverPage(request, retry, log, stop.signal);
        deps.onDelivered?.(request, result);
      } catch (err) {
        log.error({ target: request.target }, `paging: the ${request.what} was NOT delivered to ${request.target}: ${errorMessage(err)}`);
      }
    });
    tails.set(key, next);
    void next.finally(() => {
      if (tails.get(key) === next) tails.delete(key);
    });
  }

  const onPoll: PollObserver = async (outcome, at) => {
    if (closing) return;
    const cluster = paged.get(outcome.cluster);
    if (!cluster?.paging) return;
    const event = pageEventOf(outcome, at, slackUrl);
    if (!event) return;
    log.info({ cluster: event.cluster, incident: event.incidentId, kind: event.kind }, `paging: incident ${event.kind}: ${event.summary}`);
    for (const request of requestsFor(cluster, event)) send(`${request.target}:${request.url}:${event.incidentId}`, request);
  };

  async function idle(): Promise<void> {
    while (tails.size > 0) await Promise.all([...tails.values()]);
  }

  function close(graceMs = 5000): Promise<void> {
    closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([idle(), grace]);
      clearTimeout(timer);
      stop.abort();
      await idle();
    })();
    return closing;
  }

  return { onPoll, idle, close };
}

function hasTargets(c: ClusterConfig): boolean {
  return Boolean(c.paging && (c.paging.pagerduty || c.paging.webhooks.length > 0));
}

function requestsFor(cluster: ClusterConfig, event: PageEvent): PageRequest[] {
  const paging = cluster.paging!;
  const out: PageRequest[] = [];
  if (paging.pagerduty) {
    const body = pagerDutyEvent(event, paging.pagerduty.routingKey);
    out.push({
      target: 'pagerduty',
      url: paging.pagerduty.url,
      headers: {},
      body,
      what: `${body.event_action} of ${event.incidentId}`,
      secrets: [paging.pagerduty.routingKey],
    });
  }
  for (const hook of paging.webhooks) {
    out.push({
      target: 'webhook',
      url: hook.url,
      headers: hook.headers,
      body: webhookBody(event),
      what: `incident.${event.kind} of ${event.incidentId}`,
      secrets: Object.values(hook.headers),
    });
  }
  return out;
}
