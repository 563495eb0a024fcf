// Alert intake: Alertmanager (and any other tool) tells redis-medic a cluster is in trouble, so
// the monitor looks now instead of at its next tick. Only configured clusters are ever polled:
// the payload names a cluster, never an address to connect to.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log';
import type { Config } from '../config/schema';
import { errorMessage } from '../errors';
import type { AlertNote, Enqueuer, MonitorJobData } from '../jobs/types';
import type { Logger } from '../logging/logger';

export const ALERTMANAGER_PATH = '/alerts/alertmanager';
export const GENERIC_ALERT_PATH = '/alerts';
/** A sender that starts a body and never finishes it is cut off after this. */
export const BODY_READ_TIMEOUT_MS = 10_000;
const MAX_ALERTS = 1000;
const MAX_SUMMARY = 200;
const MAX_NAME_ECHOED = 100;
/** Alerts of one cluster carried to its monitor poll (and so to its incident thread) per payload. */
const MAX_ALERTS_NOTED = 20;

export interface AlertRoutesDeps {
  config: Pick<Config, 'alerts' | 'clusters'>;
  logger: Logger;
  enqueuer: Pick<Enqueuer, 'enqueueMonitorPoll'>;
  audit?: AuditLog;
}

/** What one alert source says about one cluster. */
export interface ClusterAlert {
  cluster: string;
  status: 'firing' | 'resolved';
  summary?: string;
  /** Its alertname (Alertmanager). */
  name?: string;
  /** Stable per alert: Alertmanager's fingerprint, else a hash of its labels. */
  key?: string;
}

export type ParseResult = { ok: true; alerts: ClusterAlert[]; source: string } | { ok: false; status: 400 | 422; error: string };

/**
 * `POST /alerts/alertmanager` (Alertmanager webhook, version 4) and `POST /alerts` (`{"cluster":
 * "payments"}` from anything else), both behind `Authorization: Bearer <ALERT_WEBHOOK_TOKEN>`.
 * Mount them on the Bolt receiver (`customRoutes`) or on a plain server with `startRouteServer`.
 */
export function alertRoutes(deps: AlertRoutesDeps): CustomRoute[] {
  const log = deps.logger.child({ module: 'alerts' });
  const handler =
    (parse: (body: unknown) => ParseResult) =>
    (req: IncomingMessage, res: ServerResponse): void => {
      handleAlert(deps, log, parse, req, res).catch((err: unknown) => {
        log.error({ err: errorMessage(err) }, 'alert intake failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
      });
    };
  const label = deps.config.alerts.clusterLabel;
  return [
    { path: ALERTMANAGER_PATH, method: 'POST', handler: handler((body) => parseAlertmanager(body, label)) },
    { path: GENERIC_ALERT_PATH, method: 'POST', handler: handler(parseGenericAlert) },
  ];
}

async function handleAlert(
  deps: AlertRoutesDeps,
  log: Logger,
  parse: (body: unknown) => ParseResult,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { webhookToken, maxBodyBytes } = deps.config.alerts;
  const path = (req.url ?? '').split('?')[0] ?? '';
  // Checked before a byte of the body is read: nobody unauthenticated gets us to buffer anything.
  if (!webhookToken) {
    refuse(req, res, 503, 'alert intake disabled: set ALERT_WEBHOOK_TOKEN');
    return;
  }
  if (!bearerMatches(req.headers.authorization, webhookToken)) {
    // Logged, not audited: an unauthenticated sender must not be able to write to (and so
    // churn) the capped audit stream.
    log.warn({ path, remote: req.socket.remoteAddress }, 'alert refused: missing or wrong bearer token');
    refuse(req, res, 401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
    return;
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    refuse(req, res, 413, `body too large: ${declared} bytes, the limit is ${maxBodyBytes}`);
    return;
  }
  const body = await readBody(req, maxBodyBytes, BODY_READ_TIMEOUT_MS);
  if (body.kind === 'too-large') {
    refuse(req, res, 413, `body too large: over ${maxBodyBytes} bytes`);
    return;
  }
  if (body.kind === 'timeout') {
    refuse(req, res, 408, `body not received within ${BODY_READ_TIMEOUT_MS} ms`);
    return;
  }
  if (body.kind === 'aborted') return;

  let json: unknown;
  try {
    json = JSON.parse(body.text);
  } catch (err) {
    send(res, 400, { error: `malformed JSON: ${errorMessage(err)}` });
    return;
  }
  const parsed = parse(json);
  if (!parsed.ok) {
    send(res, parsed.status, { error: parsed.error });
    return;
  }
  const planned = planAlertJobs(
    parsed.alerts,
    parsed.source,
    deps.config.clusters.map((c) => c.name),
  );
  if (!planned.ok) {
    await deps.audit?.record({ action: 'request.rejected', cluster: '-', actor: parsed.source, details: { path, reason: planned.error } });
    send(res, planned.status, { error: planned.error });
    return;
  }

  const accepted: Array<{ cluster: string; reason: MonitorJobData['reason']; jobId: string }> = [];
  try {
    for (const job of planned.jobs) {
      const jobId = await deps.enqueuer.enqueueMonitorPoll(job);
      accepted.push({ cluster: job.cluster, reason: job.reason, jobId });
      await deps.audit?.record({
        action: 'alert.received',
        cluster: job.cluster,
        actor: parsed.source,
        details: { status: job.alert?.status, summary: job.alert?.summary, jobId },
      });
    }
  } catch (err) {
    log.error({ err: errorMessage(err), accepted }, 'alert: could not queue the monitor poll');
    send(res, 503, { error: `could not queue the check: ${errorMessage(err)}`, accepted });
    return;
  }
  log.info({ source: parsed.source, accepted }, `alert: ${accepted.map((a) => `${a.cluster} (${a.reason})`).join(', ')}`);
  send(res, 202, { accepted });
}

// ---- pure parsing ---------------------------------------------------------------------------

const labels = z.record(z.string(), z.string());

const alertmanagerSchema = z.object({
  version: z.string().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels: labels.default({}),
        annotations: labels.default({}),
        startsAt: z.string().optional(),
        endsAt: z.string().optional(),
        fingerprint: z.string().optional(),
      }),
    )
    .min(1, 'no alerts in the payload')
    .max(MAX_ALERTS, `at most ${MAX_ALERTS} alerts per payload`),
});

const genericSchema = z.object({
  cluster: z.string().min(1, 'cluster must not be empty'),
  status: z.enum(['firing', 'resolved']).default('firing'),
  summary: z.string().optional(),
  source: z
    .string()
    .max(60)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'source: letters, digits, _ . : -')
    .optional(),
});

/** Alertmanager webhook v4: the cluster comes from `clusterLabel` on each alert (or the group's common labels). */
export function parseAlertmanager(body: unknown, clusterLabel: string): ParseResult {
  const result = alertmanagerSchema.safeParse(body);
  if (!result.success) return { ok: false, status: 400, error: `not an Alertmanager webhook payload: ${formatIssues(result.error)}` };
  const payload = result.data;
  const alerts: ClusterAlert[] = [];
  for (const alert of payload.alerts) {
    const cluster = alert.labels[clusterLabel] ?? payload.commonLabels[clusterLabel] ?? payload.groupLabels[clusterLabel];
    if (!cluster) {
      const name = alert.labels.alertname ?? payload.commonLabels.alertname;
      return {
        ok: false,
        status: 422,
        error: `${name ? `alert "${echo(name)}"` : 'an alert'} has no "${clusterLabel}" label: it must name the Redis cluster (alerts.clusterLabel sets which label)`,
      };
    }
    const summary =
      alert.annotations.summary ?? payload.commonAnnotations.summary ?? alert.labels.alertname ?? payload.commonLabels.alertname;
    const name = alert.labels.alertname ?? payload.commonLabels.alertname;
    const labelsKey = JSON.stringify(
      Object.entries({ ...payload.commonLabels, ...alert.labels }).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    alerts.push({
      cluster,
      status: alert.status,
      ...(summary ? { summary: clean(summary) } : {}),
      ...(name ? { name: echo(name) } : {}),
      key: alert.fingerprint ? `fp:${echo(alert.fingerprint)}` : `labels:${shortHash(labelsKey)}`,
    });
  }
  return { ok: true, alerts, source: 'alertmanager' };
}

/** `{"cluster":"payments","status":"firing","summary":"...","source":"grafana"}`; status defaults to firing. */
export function parseGenericAlert(body: unknown): ParseResult {
  const result = genericSchema.safeParse(body);
  if (!result.success) return { ok: false, status: 400, error: `expected {"cluster":"<name>"}: ${formatIssues(result.error)}` };
  const { cluster, status, summary, source } = result.data;
  return { ok: true, alerts: [{ cluster, status, ...(summary ? { summary: clean(summary) } : {}) }], source: source ?? 'webhook' };
}

export type AlertPlan = { ok: true; jobs: MonitorJobData[] } | { ok: false; status: 422; error: string };

/**
 * One monitor job per cluster: an immediate diagnosis if any of its alerts fires, a recheck if
 * all of them resolved. Any unknown cluster refuses the whole payload, so nothing half-happens.
 */
export function planAlertJobs(alerts: readonly ClusterAlert[], source: string, known: readonly string[]): AlertPlan {
  const unknown = [...new Set(alerts.map((a) => a.cluster).filter((c) => !known.includes(c)))];
  if (unknown.length > 0) {
    const names = unknown
      .slice(0, 5)
      .map((c) => `"${echo(c)}"`)
      .join(', ');
    return {
      ok: false,
      status: 422,
      error: `unknown cluster${unknown.length === 1 ? '' : 's'} ${names}; known: ${known.join(', ') || 'none configured'}`,
    };
  }
  const byCluster = new Map<string, ClusterAlert[]>();
  for (const alert of alerts) byCluster.set(alert.cluster, [...(byCluster.get(alert.cluster) ?? []), alert]);
  const jobs: MonitorJobData[] = [];
  for (const [cluster, list] of byCluster) {
    const firing = list.find((a) => a.status === 'firing');
    const chosen = firing ?? list[0]!;
    jobs.push({
      cluster,
      reason: firing ? 'alert' : 'recheck',
      alert: { source, status: firing ? 'firing' : 'resolved', ...(chosen.summary ? { summary: chosen.summary } : {}) },
      alerts: list.slice(0, MAX_ALERTS_NOTED).map((a) => alertNote(a, source)),
    });
  }
  return { ok: true, jobs };
}

/** An alert as the incident thread notes it; one without a key (a generic webhook) is keyed by what it says. */
function alertNote(alert: ClusterAlert, source: string): AlertNote {
  return {
    key: alert.key ?? `said:${shortHash(JSON.stringify([source, alert.name ?? '', alert.summary ?? '']))}`,
    source,
    name: alert.name ?? source,
    status: alert.status,
    ...(alert.summary ? { summary: alert.summary } : {}),
  };
}

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
}

// ---- HTTP plumbing ----------------------------------------------------------------------------

/** Constant-time on digests, so neither the token nor its length leaks through timing. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const given = match?.[1];
  if (!given) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

type Body = { kind: 'ok'; text: string } | { kind: 'too-large' } | { kind: 'timeout' } | { kind: 'aborted' };

/** Reads at most `limit` bytes; stops at the first byte over it and never buffers more. */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (body: Body): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      resolve(body);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish({ kind: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish({ kind: 'ok', text: Buffer.concat(chunks).toString('utf8') }));
    req.once('aborted', () => finish({ kind: 'aborted' }));
    req.once('error', () => finish({ kind: 'aborted' }));
  });
}

/** Answer, then close the connection: whatever is left of the request body is never read. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, error: string, headers: Record<string, string> = {}): void {
  send(res, status, { error }, { ...headers, connection: 'close' });
  res.once('finish', () => {
    if (!req.complete) req.socket.destroySoon();
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}

/** Text from the payload that we repeat (errors, Slack): bounded, one line, printable. */
function clean(text: string): string {
  const oneLine = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return oneLine.length > MAX_SUMMARY ? `${oneLine.slice(0, MAX_SUMMARY - 1)}…` : oneLine;
}

function echo(text: string): string {
  const safe = clean(text);
  return safe.length > MAX_NAME_ECHOED ? `${safe.slice(0, MAX_NAME_ECHOED - 1)}…` : safe;
}
