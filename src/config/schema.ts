import { z } from 'zod';
import { parseNetworkEntry } from '../cluster/scope';
import { DEFAULT_COLLECTION_LIMITS } from '../cluster/limits';
import { DEFAULT_QUEUE_REDIS_URL, DEFAULT_TIMEOUTS } from './defaults';

const hostPort = z.string().regex(/^(\[[^\]]+\]|[^\s:]+|[0-9a-fA-F:]+):\d{1,5}$/, 'must be host:port, e.g. 10.0.0.31:6379');
const networkEntry = z.string().superRefine((text, ctx) => {
  try {
    parseNetworkEntry(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const slackId = z.string().regex(/^[A-Z0-9]+$/, 'must be a Slack id such as U012ABCDEF or S012ABCDEF');

export const approversSchema = z.object({
  /** Slack user ids allowed to approve repairs. */
  users: z.array(slackId).default([]),
  /** Slack user group ids whose members may approve (resolved with usergroups.users.list). */
  usergroups: z.array(slackId).default([]),
});

/** PagerDuty Events API v2: trigger on open, resolve on resolved, dedup key = incident id. */
export const pagerDutySchema = z.object({
  /** The integration's routing key (a secret: give it as `${PAGERDUTY_ROUTING_KEY}`). Never logged. */
  routingKey: z
    .string()
    .min(
      1,
      'give the PagerDuty routing key (from the environment variable PAGERDUTY_ROUTING_KEY, written as $' + '{PAGERDUTY_ROUTING_KEY})',
    ),
  url: httpUrl.default('https://events.pagerduty.com/v2/enqueue'),
});

/** A generic JSON webhook: one POST per incident opened, reopened and resolved (docs/paging.md). */
export const webhookSchema = z.object({
  url: httpUrl,
  /** Extra request headers, e.g. `authorization: Bearer ${HOOK_TOKEN}` (values are never logged). */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name: letters, digits and -'), z.string()).default({}),
});

export const clusterPagingSchema = z.object({
  pagerduty: pagerDutySchema.optional(),
  webhooks: z.array(webhookSchema).default([]),
});

/** A planned maintenance: the cluster is silenced from `from` until `until` (ISO 8601 times with a zone). */
export const maintenanceWindowSchema = z
  .object({
    from: z.iso.datetime({ offset: true, error: 'an ISO 8601 time with its zone, e.g. 2026-12-01T02:00:00Z' }),
    until: z.iso.datetime({ offset: true, error: 'an ISO 8601 time with its zone, e.g. 2026-12-01T04:00:00Z' }),
    reason: z.string().max(200).optional(),
  })
  .refine((w) => Date.parse(w.until) > Date.parse(w.from), { message: '`until` must be after `from`', path: ['until'] });

export const clusterSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, _ . - (starting with a letter or digit)'),
  seeds: z.array(hostPort).min(1, 'give at least one seed node'),
  username: z.string().optional(),
  password: z.string().optional(),
  tls: z.boolean().default(false),
  /** Slack channel id for this cluster's incident threads and diagnoses. */
  channel: z.string().optional(),
  /** Nodes outside the cluster that repairs may bring in (to take slots, or as new replicas). */
  spareNodes: z.array(hostPort).default([]),
  /**
   * Where the cluster's other nodes may live, besides the seeds and spares: CIDRs, addresses or
   * host names (`*.suffix` allowed), each optionally with `:port` or `:from-to`. redis-medic
   * connects to nothing else for this cluster, whatever its nodes list. Unset: the seeds' own
   * networks (src/cluster/scope.ts, docs/configuration.md); `[]`: the seeds and spares only.
   */
  allowedNetworks: z.array(networkEntry).optional(),
  /**
   * host:port addresses never contacted as nodes of this cluster, whatever allows them. The
   * loader always adds the queue Redis (queue.redisUrl): its address never gets the cluster's
   * credentials, even from a node that lists it.
   */
  neverContact: z.array(hostPort).optional(),
  /** Overrides the global approvers for this cluster. */
  approvers: approversSchema.optional(),
  /** Who is paged when this cluster's incident opens and resolves (docs/paging.md). */
  paging: clusterPagingSchema.optional(),
  /** Planned maintenance windows: silenced then (no incident thread, no page; polls and history go on). */
  maintenance: z.array(maintenanceWindowSchema).optional(),
});

export const configSchema = z.object({
  clusters: z.array(clusterSchema).default([]),
  timeouts: z
    .object({
      connectMs: z.number().int().positive().default(DEFAULT_TIMEOUTS.connectMs),
      commandMs: z.number().int().positive().default(DEFAULT_TIMEOUTS.commandMs),
    })
    .prefault({}),
  /** Caps on what is read from any node (a node's answers are data, and can be hostile). */
  collection: z
    .object({
      /** Bytes read from one node per probe, all replies together; past it the node's answer is dropped. */
      maxReplyBytes: z
        .number()
        .int()
        .min(64 * 1024)
        .default(DEFAULT_COLLECTION_LIMITS.maxReplyBytes),
      /** Lines of one node's CLUSTER NODES; past it that answer is dropped. */
      maxClusterNodesLines: z.number().int().min(16).default(DEFAULT_COLLECTION_LIMITS.maxClusterNodesLines),
      /** Nodes asked per diagnosis (seeds included); addresses listed beyond it are not followed. */
      maxNodes: z.number().int().min(1).default(DEFAULT_COLLECTION_LIMITS.maxNodes),
    })
    .prefault({}),
  queue: z
    .object({
      redisUrl: z.string().default(DEFAULT_QUEUE_REDIS_URL),
      prefix: z.string().min(1).default('redis-medic'),
      diagnoseConcurrency: z.number().int().positive().default(4),
      repairConcurrency: z.number().int().positive().default(2),
      monitorConcurrency: z.number().int().positive().default(4),
      keepCompletedSeconds: z
        .number()
        .int()
        .positive()
        .default(24 * 3600),
      keepCompletedCount: z.number().int().positive().default(1000),
      keepFailedSeconds: z
        .number()
        .int()
        .positive()
        .default(7 * 24 * 3600),
    })
    .prefault({}),
  monitor: z
    .object({
      enabled: z.boolean().default(true),
      intervalMs: z.number().int().min(250).default(5000),
      /** Consecutive healthy polls before an incident is resolved (stops flapping threads). */
      resolveAfterPolls: z.number().int().positive().default(3),
      /** Risk findings are posted once, then at most once per this interval. */
      riskDigestMs: z
        .number()
        .int()
        .positive()
        .default(24 * 3600 * 1000),
      /**
       * A cluster that breaks again within this long after its incident was resolved reopens the
       * same incident and thread (a flapping master makes one thread, not one per flap).
       */
      reopenWindowMs: z
        .number()
        .int()
        .min(0)
        .default(15 * 60 * 1000),
    })
    .prefault({}),
  approvals: z
    .object({
      ...approversSchema.shape,
      /** Whoever asked for the diagnosis may not approve its repair. */
      twoPersonRule: z.boolean().default(true),
      /**
       * Distinct approvers a plan of risk `high` needs before it runs (1: one click). Monitor
       * incidents have no requester, so the two-person rule alone cannot stop one person there.
       */
      highRiskApprovers: z.number().int().min(1).max(5).default(1),
      expiryMs: z
        .number()
        .int()
        .positive()
        .default(15 * 60 * 1000),
    })
    .prefault({}),
  repair: z
    .object({
      stepTimeoutMs: z.number().int().positive().default(5000),
      verifyTimeoutMs: z.number().int().positive().default(15000),
      lockTtlMs: z.number().int().positive().default(30000),
    })
    .prefault({}),
  slack: z
    .object({
      botToken: z.string().optional(),
      signingSecret: z.string().optional(),
      appToken: z.string().optional(),
      apiUrl: z.string().url().optional(),
      /** Where diagnoses of clusters without a channel of their own are posted by the monitor. */
      defaultChannel: z.string().optional(),
      /** Requests (commands, clicks, submissions) one user may make per window; more get a polite refusal. */
      rateLimit: z
        .object({
          perUser: z.number().int().positive().default(20),
          windowMs: z.number().int().positive().default(60_000),
        })
        .prefault({}),
    })
    .prefault({}),
  http: z
    .object({
      port: z.number().int().min(0).max(65535).default(3000),
      /**
       * When set, /livez, /readyz, /healthz and /metrics are served on this port only (keep it
       * cluster-internal), and the main port serves Slack and /alerts.
       */
      internalPort: z.number().int().min(0).max(65535).optional(),
    })
    .prefault({}),
  alerts: z
    .object({
      webhookToken: z.string().optional(),
      /** The Alertmanager label that names the cluster. */
      clusterLabel: z.string().default('redis_cluster'),
      maxBodyBytes: z
        .number()
        .int()
        .positive()
        .default(256 * 1024),
    })
    .prefault({}),
  /** How pages are delivered (the targets are per cluster: clusters[].paging). */
  paging: z
    .object({
      /** One HTTP request is cut off after this long (then retried like a 5xx). */
      timeoutMs: z.number().int().positive().default(5000),
      /** Attempts per page, the first included: 5xx, 429, timeouts and refused connections are retried; other 4xx never. */
      attempts: z.number().int().min(1).max(20).default(6),
      /** Backoff between attempts: doubling from minBackoffMs up to maxBackoffMs, with jitter. */
      minBackoffMs: z.number().int().positive().default(1000),
      maxBackoffMs: z.number().int().positive().default(60_000),
      /** Base of the Slack thread links in pages (a workspace URL such as https://acme.slack.com also works). */
      slackUrl: httpUrl.default('https://slack.com'),
    })
    .prefault({}),
  /** HMAC key for button values and approval tokens. */
  approvalSecret: z.string().optional(),
});

export type Config = z.infer<typeof configSchema>;
export type ClusterConfig = z.infer<typeof clusterSchema>;
export type Approvers = z.infer<typeof approversSchema>;
