import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { HTTPModuleFunctions, verifySlackRequest } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/audit-log';
import { errorMessage } from '../errors';
import type { Logger } from '../logging/logger';
import { queueKeys } from '../queue-keys';
import { withDeadline } from '../deadline';

export interface RequestGuardOptions {
  redis: Redis;
  prefix: string;
  signingSecret: string;
  audit: AuditLog;
  logger: Logger;
  now?: () => number;
  /** How far in the future a request timestamp may be (clock skew), default 60 s. */
  maxFutureSkewSec?: number;
  /** Largest body read (default SLACK_BODY_LIMIT_BYTES); larger ones get 413 before they are read. */
  bodyLimit?: number;
  /** Bound on the replay-guard Redis call (default 1000 ms). */
  redisTimeoutMs?: number;
}

/** Bolt accepts requests up to 5 minutes old: a seen request is remembered a little longer. */
const MAX_AGE_SEC = 5 * 60;

/**
 * The largest body Slack sends us, with room to spare. Measured: a block_actions click on the
 * largest fixes message (20 plans) is 57 KB; a paste-modal submission with 3,000 three-byte
 * characters (the input's limit) is 29 KB. Anything larger is not Slack.
 */
export const SLACK_BODY_LIMIT_BYTES = 128 * 1024;

/** Slack's ssl_check is unsigned and tiny; an unsigned request may show this much, no more. */
const UNSIGNED_BODY_LIMIT_BYTES = 1024;

/** Exactly what Slack sends. Bolt also accepts `v0=<hex>=anything`, which made replays look new. */
const SIGNATURE = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP = /^[0-9]{1,12}$/;

export type GuardVerdict = 'pass' | 'refused';

/**
 * Runs before Bolt on every POST to the Slack endpoint, in the order that costs an attacker the
 * most and us the least:
 * 1. headers: the signature must be exactly `v0=<64 hex>` and the timestamp within 5 minutes
 *    in the past or `maxFutureSkewSec` in the future (Bolt accepts the future and `=x` suffixes);
 * 2. size: a Content-Length over the limit is answered 413 and the connection closed, unread;
 *    a body without a length is read only up to the limit;
 * 3. the signature, over the body read;
 * 4. replays: a hash of timestamp and body is remembered (SET NX in the queue Redis, shared by
 *    every replica) only after the signature verified, so a stranger cannot burn a real
 *    request by sending it first with another body.
 *
 * On 'refused' the response is already sent (401, 413 or 503); on 'pass' the body is buffered
 * on the request (`rawBody`), which Bolt reuses instead of reading the stream again.
 */
export function createRequestGuard(options: RequestGuardOptions): (req: IncomingMessage, res: ServerResponse) => Promise<GuardVerdict> {
  const now = options.now ?? Date.now;
  const skewSec = options.maxFutureSkewSec ?? 60;
  const rememberSec = MAX_AGE_SEC + skewSec + 60;
  const bodyLimit = options.bodyLimit ?? SLACK_BODY_LIMIT_BYTES;
  const redisTimeoutMs = options.redisTimeoutMs ?? 1000;
  const log = options.logger.child({ component: 'slack-request-guard' });

  const refuse = async (res: ServerResponse, status: number, reason: string, body?: string): Promise<GuardVerdict> => {
    if (!res.headersSent) {
      res.writeHead(status);
      res.end();
    }
    if (body !== undefined) {
      // Only requests with a valid signature reach here: Slack sent them, so they are worth an
      // audit entry. Unsigned junk from the internet is logged, never audited (a flood of it
      // must not push real entries out of the capped audit stream).
      await options.audit.record({ action: 'request.rejected', cluster: '-', actor: actorOf(body), details: { reason, status } });
    }
    return 'refused';
  };

  const readBody = async (req: IncomingMessage, res: ServerResponse, limit: number): Promise<string | GuardVerdict> => {
    try {
      return (await HTTPModuleFunctions.bufferIncomingMessage(req, limit)).rawBody.toString();
    } catch (err) {
      const tooLarge = HTTPModuleFunctions.isRawBodyError(err) && (err as { statusCode?: number }).statusCode === 413;
      log.warn({ err: errorMessage(err), limit }, 'slack request: could not read the body');
      return tooLarge ? refuseUnread(req, res, 413) : refuse(res, 400, 'unreadable body');
    }
  };

  return async (req, res) => {
    const signature = req.headers['x-slack-signature'];
    const timestampText = req.headers['x-slack-request-timestamp'];
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);

    if (signature === undefined && timestampText === undefined) {
      // Slack's unsigned SSL check: Bolt answers `ssl_check=1` and dispatches nothing.
      if (declared !== undefined && declared > UNSIGNED_BODY_LIMIT_BYTES) return refuseUnread(req, res, 401);
      const body = await readBody(req, res, UNSIGNED_BODY_LIMIT_BYTES);
      if (body === 'refused') return body;
      if (req.headers['content-type'] === 'application/x-www-form-urlencoded' && parseQuery(body).ssl_check === '1') return 'pass';
      log.warn({ path: req.url }, 'slack request refused: no signature headers');
      return refuse(res, 401, 'unsigned');
    }
    if (
      typeof signature !== 'string' ||
      !SIGNATURE.test(signature) ||
      typeof timestampText !== 'string' ||
      !TIMESTAMP.test(timestampText)
    ) {
      log.warn({ path: req.url }, 'slack request refused: malformed signature headers');
      return refuseEarly(req, res, declared, bodyLimit, 401);
    }
    const timestamp = Number(timestampText);
    const nowSec = Math.floor(now() / 1000);
    if (timestamp > nowSec + skewSec) {
      log.warn({ timestamp, nowSec }, 'slack request refused: timestamp in the future');
      return refuseEarly(req, res, declared, bodyLimit, 401);
    }
    if (timestamp < nowSec - MAX_AGE_SEC) {
      log.warn({ timestamp, nowSec }, 'slack request refused: older than 5 minutes');
      return refuseEarly(req, res, declared, bodyLimit, 401);
    }
    if (declared !== undefined && !(declared <= bodyLimit)) {
      log.warn({ declared, limit: bodyLimit }, 'slack request refused: body larger than any Slack request');
      return refuseUnread(req, res, 413);
    }

    const body = await readBody(req, res, bodyLimit);
    if (body === 'refused') return body;
    try {
      verifySlackRequest({
        signingSecret: options.signingSecret,
        body,
        headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
        nowMilliseconds: now(),
      });
    } catch (err) {
      log.warn({ reason: errorMessage(err), path: req.url }, 'slack request refused: bad signature');
      return refuse(res, 401, 'bad signature');
    }
    // The signature covers exactly `v0:timestamp:body`: the same pair is the same request,
    // whatever else the headers say.
    const digest = crypto.createHash('sha256').update(timestampText).update(':').update(body).digest('hex');
    const key = queueKeys(options.prefix).slackRequestSeen(digest);
    let first: string | null;
    try {
      first = await withDeadline(options.redis.set(key, String(nowSec), 'EX', rememberSec, 'NX'), redisTimeoutMs);
    } catch (err) {
      // Without the replay memory we cannot tell a replay from a first request: refuse, loudly.
      log.error({ err: errorMessage(err) }, 'slack request refused: the replay guard cannot reach the queue Redis');
      return refuse(res, 503, 'replay guard unavailable');
    }
    if (first !== 'OK') {
      log.warn({ timestamp }, 'slack request refused: replay of an already processed request');
      return refuse(res, 401, 'replayed request', body);
    }
    return 'pass';
  };
}

/**
 * A refusal decided from the headers. A small body is left to Node to drain (the connection
 * stays usable); a large or unknown one is never read: the connection is closed instead.
 */
function refuseEarly(req: IncomingMessage, res: ServerResponse, declared: number | undefined, limit: number, status: number): GuardVerdict {
  if (declared === undefined || !(declared <= limit)) return refuseUnread(req, res, status);
  res.writeHead(status);
  res.end();
  return 'refused';
}

/** Answer without reading the body: close the connection so the rest is never read. */
function refuseUnread(req: IncomingMessage, res: ServerResponse, status: number): GuardVerdict {
  if (!res.headersSent) {
    res.writeHead(status, { connection: 'close', 'content-length': '0' });
    res.end(() => setImmediate(() => req.socket.destroy()));
  }
  return 'refused';
}

/** Who sent it, from a command (user_id) or an interaction payload (user.id), for the audit log. */
function actorOf(rawBody: string): string {
  try {
    const form = parseQuery(rawBody);
    if (typeof form.user_id === 'string') return form.user_id;
    if (typeof form.payload === 'string') {
      const payload = JSON.parse(form.payload) as { user?: { id?: string } };
      if (payload.user?.id) return payload.user.id;
    }
  } catch {
    /* fall through */
  }
  return 'slack';
}
