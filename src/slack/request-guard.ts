import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { HTTPModuleFunctions, verifySlackRequest } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/audit-log';
import { errorMessage } from '../errors';
import type { Logger } from '../logging/logger';

export interface RequestGuardOptions {
  redis: Redis;
  prefix: string;
  signingSecret: string;
  audit: AuditLog;
  logger: Logger;
  now?: () => number;
  /** How far in the future a request timestamp may be (clock skew), default 60 s. */
  maxFutureSkewSec?: number;
  bodyLimit?: number;
  /** Bound on the replay-guard Redis call (default 1000 ms). */
  redisTimeoutMs?: number;
}

/** Bolt accepts requests up to 5 minutes old: a seen signature is remembered a little longer. */
const BOLT_MAX_AGE_SEC = 5 * 60;

export type GuardVerdict = 'pass' | 'refused';

/**
 * Runs before Bolt on every POST to the Slack endpoint. Bolt checks the signature and refuses
 * old requests, but it processes the same signed request twice and accepts timestamps in the
 * future; this refuses both. A signature is remembered (SET NX in the queue Redis, so every
 * replica shares the memory) only after it verified: a stranger cannot burn a real request's
 * signature by sending it first with another body.
 *
 * On 'refused' the response is already sent (401, 413 or 503); on 'pass' the body is buffered
 * on the request (`rawBody`), which Bolt reuses instead of reading the stream again.
 */
export function createRequestGuard(options: RequestGuardOptions): (req: IncomingMessage, res: ServerResponse) => Promise<GuardVerdict> {
  const now = options.now ?? Date.now;
  const skewSec = options.maxFutureSkewSec ?? 60;
  const rememberSec = BOLT_MAX_AGE_SEC + skewSec + 60;
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

  return async (req, res) => {
    let rawBody: string;
    try {
      rawBody = (await HTTPModuleFunctions.bufferIncomingMessage(req, options.bodyLimit ?? HTTPModuleFunctions.defaultBodyLimit)).rawBody.toString();
    } catch (err) {
      const tooLarge = HTTPModuleFunctions.isRawBodyError(err) && (err as { statusCode?: number }).statusCode === 413;
      log.warn({ err: errorMessage(err) }, 'slack request: could not read the body');
      return refuse(res, tooLarge ? 413 : 400, 'unreadable body');
    }
    // Slack's unsigned SSL check: Bolt strips it to `ssl_check=1` and dispatches nothing.
    if (req.headers['content-type'] === 'application/x-www-form-urlencoded' && parseQuery(rawBody).ssl_check === '1') return 'pass';

    const signature = req.headers['x-slack-signature'];
    const timestampText = req.headers['x-slack-request-timestamp'];
    const timestamp = Number(timestampText);
    try {
      if (typeof signature !== 'string' || typeof timestampText !== 'string') throw new Error('signature headers missing');
      verifySlackRequest({
        signingSecret: options.signingSecret,
        body: rawBody,
        headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
        nowMilliseconds: now(),
      });
    } catch (err) {
      log.warn({ reason: errorMessage(err), path: req.url }, 'slack request refused: bad or stale signature');
      return refuse(res, 401, 'bad signature');
    }
    const nowSec = Math.floor(now() / 1000);
    if (timestamp > nowSec + skewSec) {
      log.warn({ timestamp, nowSec }, 'slack request refused: timestamp in the future');
      return refuse(res, 401, `timestamp ${timestamp - nowSec} s in the future`, rawBody);
    }
    const key = `${options.prefix}:slack:seen:${crypto.createHash('sha256').update(signature).digest('hex')}`;
    let first: string | null;
    try {
      first = await withTimeout(options.redis.set(key, String(nowSec), 'EX', rememberSec, 'NX'), redisTimeoutMs);
    } catch (err) {
      // Without the replay memory we cannot tell a replay from a first request: refuse, loudly.
      log.error({ err: errorMessage(err) }, 'slack request refused: the replay guard cannot reach the queue Redis');
      return refuse(res, 503, 'replay guard unavailable');
    }
    if (first !== 'OK') {
      log.warn({ timestamp }, 'slack request refused: replay of an already processed request');
      return refuse(res, 401, 'replayed request', rawBody);
    }
    return 'pass';
  };
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

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}
