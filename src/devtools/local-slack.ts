// A local stand-in for the Slack Web API: the tests record and inspect its calls, and
// `demo --serve` prints them as the messages a channel would show.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Web API call the app made, as Slack would have received it. */
export interface RecordedCall {
  method: string;
  token: string | undefined;
  /** Form or JSON fields; `blocks`, `attachments` and `view` are parsed from their JSON strings. */
  params: Record<string, any>;
  at: number;
  /** What the fake answered (e.g. the `ts` it gave a posted message). */
  response?: Record<string, any>;
}

/** A message as the fake channel holds it (what conversations.history and .replies return). */
export interface StoredMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  bot_id: string;
}

/**
 * A fault the fake plays for the next calls to a method: an HTTP status (5xx; 429 with
 * Retry-After), a slow answer, or both. `lands` says whether a chat.postMessage is stored anyway
 * (a slow answer: yes, as Slack does; an HTTP error: no, unless told).
 */
export interface FaultSpec {
  status?: number;
  retryAfterSec?: number;
  delayMs?: number;
  times?: number;
  lands?: boolean;
  /** Only calls matching this (e.g. replies in one thread) play the fault. */
  match?: (params: Record<string, any>) => boolean;
}

export interface FakeSlack {
  /** Base URL for WebClient's `slackApiUrl` (ends with `/api/`). */
  apiUrl: string;
  /** Where `response_url` posts go: `${responseUrlBase}<anything>`. */
  responseUrlBase: string;
  calls: RecordedCall[];
  callsTo(method: string): RecordedCall[];
  /** Resolves with the first call (past or future) to `method` matching `predicate`. */
  waitFor(method: string, predicate?: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  /** Members returned by usergroups.users.list, per user group id. */
  usergroups: Record<string, string[]>;
  /** The WebSocket URL apps.connections.open hands out (Socket Mode tests). */
  socketModeUrl?: string;
  /** Make the next calls to `method` answer `{ok:false, error}`. */
  failNext(method: string, error: string, times?: number): void;
  /** Play a fault (5xx, 429, slow answer) for the next calls to `method`; `times` default 1. */
  fault(method: string, spec: FaultSpec): void;
  /** Every message the channels hold now (posted and not failed), oldest first. */
  messages: StoredMessage[];
  reset(): void;
  close(): Promise<void>;
}

/**
 * A local stand-in for the Slack Web API that records every call. It answers the methods the
 * app uses the way Slack does (form-encoded or JSON bodies, Bearer token) with plausible
 * payloads, so the real WebClient and Bolt run unchanged against it.
 */
export async function startFakeSlack(options: { onCall?: (call: RecordedCall) => void } = {}): Promise<FakeSlack> {
  const calls: RecordedCall[] = [];
  const waiters: Array<{ method: string; predicate: (c: RecordedCall) => boolean; resolve: (c: RecordedCall) => void }> = [];
  const failures = new Map<string, { error: string; times: number }>();
  const faults = new Map<string, FaultSpec[]>();
  const messages: StoredMessage[] = [];
  let tsCounter = 0;
  // Real seconds, as Slack's ts are (history lookups filter by time), and a counter: unique and ordered.
  const nextTs = (): string => `${Math.floor(Date.now() / 1000)}.${String(++tsCounter).padStart(6, '0')}`;
  const fake: { usergroups: Record<string, string[]>; socketModeUrl?: string } = { usergroups: {} };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = url.pathname.startsWith('/api/') ? url.pathname.slice(5) : `response_url${url.pathname}`;
      const params = parseBody(raw, req.headers['content-type'] ?? '');
      const auth = req.headers.authorization;
      const call: RecordedCall = { method, token: auth?.replace(/^Bearer /, '') ?? params.token, params, at: Date.now() };
      calls.push(call);
      for (const waiter of [...waiters]) {
        if (waiter.method === method && waiter.predicate(call)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(call);
        }
      }
      const failure = failures.get(method);
      const fault = takeFault(faults, method, params);
      let body: Record<string, unknown>;
      if (failure && failure.times > 0) {
        failure.times--;
        body = { ok: false, error: failure.error };
      } else if (fault?.status && !fault.lands) {
        body = { ok: false, error: fault.status === 429 ? 'ratelimited' : `http_${fault.status}` };
      } else {
        body =
          method === 'apps.connections.open' && fake.socketModeUrl
            ? { ok: true, url: fake.socketModeUrl }
            : answer(method, params, nextTs, fake.usergroups, messages);
      }
      call.response = body;
      options.onCall?.(call);
      const reply = (): void => {
        if (res.destroyed) return;
        if (fault?.status) {
          res.writeHead(fault.status, {
            'content-type': 'application/json',
            ...(fault.retryAfterSec !== undefined ? { 'retry-after': String(fault.retryAfterSec) } : {}),
          });
          res.end(JSON.stringify(body));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (fault?.delayMs) setTimeout(reply, fault.delayMs).unref();
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return Object.assign(fake, {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    responseUrlBase: `http://127.0.0.1:${port}/response/`,
    calls,
    callsTo: (method: string) => calls.filter((c) => c.method === method),
    waitFor(method: string, predicate: (c: RecordedCall) => boolean = () => true, timeoutMs = 10000): Promise<RecordedCall> {
      const past = calls.find((c) => c.method === method && predicate(c));
      if (past) return Promise.resolve(past);
      return new Promise<RecordedCall>((resolve, reject) => {
        const waiter = {
          method,
          predicate,
          resolve: (c: RecordedCall) => {
            clearTimeout(timer);
            resolve(c);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          const seen = calls.map((c) => c.method).join(', ') || 'none';
          reject(new Error(`fake Slack: no matching ${method} call within ${timeoutMs} ms (calls so far: ${seen})`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    failNext(method: string, error: string, times = 1) {
      failures.set(method, { error, times });
    },
    fault(method: string, spec: FaultSpec) {
      faults.set(method, [...(faults.get(method) ?? []), { ...spec, times: spec.times ?? 1 }]);
    },
    messages,
    reset() {
      calls.length = 0;
      failures.clear();
      faults.clear();
      messages.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

function parseBody(raw: string, contentType: string): Record<string, any> {
  let params: Record<string, any> = {};
  if (contentType.includes('application/json')) {
    try {
      params = JSON.parse(raw || '{}') as Record<string, any>;
    } catch {
      params = { _raw: raw };
    }
  } else {
    params = Object.fromEntries(new URLSearchParams(raw));
  }
  for (const key of ['blocks', 'attachments', 'view', 'metadata']) {
    if (typeof params[key] === 'string') {
      try {
        params[key] = JSON.parse(params[key] as string);
      } catch {
        /* leave as sent */
      }
    }
  }
  return params;
}

function takeFault(faults: Map<string, FaultSpec[]>, method: string, params: Record<string, any>): FaultSpec | undefined {
  const list = faults.get(method);
  const fault = list?.find((f) => (f.times ?? 1) > 0 && (!f.match || f.match(params)));
  if (!fault) return undefined;
  fault.times = (fault.times ?? 1) - 1;
  return fault;
}

const BOT_ID = 'B0BOT';

function answer(
  method: string,
  params: Record<string, any>,
  nextTs: () => string,
  usergroups: Record<string, string[]>,
  messages: StoredMessage[],
): Record<string, unknown> {
  const view = (m: StoredMessage, withMetadata: boolean): Record<string, unknown> => ({
    type: 'message',
    ts: m.ts,
    text: m.text,
    blocks: m.blocks,
    bot_id: m.bot_id,
    ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
    ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
  });
  switch (method) {
    case 'auth.test':
      return {
        ok: true,
        url: 'https://fake.slack.test/',
        team: 'Fake',
        user: 'redis-medic',
        team_id: 'T0FAKE',
        user_id: 'U0BOT',
        bot_id: BOT_ID,
      };
    case 'chat.postMessage': {
      const ts = nextTs();
      messages.push({
        channel: params.channel,
        ts,
        text: params.text,
        blocks: params.blocks,
        bot_id: BOT_ID,
        ...(params.thread_ts ? { thread_ts: params.thread_ts } : {}),
        ...(params.metadata ? { metadata: params.metadata } : {}),
      });
      return {
        ok: true,
        channel: params.channel,
        ts,
        message: { ts, text: params.text, blocks: params.blocks, thread_ts: params.thread_ts },
      };
    }
    case 'chat.update': {
      const stored = messages.find((m) => m.channel === params.channel && m.ts === params.ts);
      if (stored)
        Object.assign(stored, { text: params.text, blocks: params.blocks, ...(params.metadata ? { metadata: params.metadata } : {}) });
      return { ok: true, channel: params.channel, ts: params.ts, text: params.text };
    }
    case 'chat.getPermalink':
      return {
        ok: true,
        channel: params.channel,
        permalink: `https://fake.slack.test/archives/${params.channel}/p${String(params.message_ts).replace('.', '')}`,
      };
    case 'conversations.history': {
      // Newest first, roots only (thread replies stay in their thread), as Slack answers.
      const withMetadata = params.include_all_metadata === 'true' || params.include_all_metadata === true;
      const oldest = Number(params.oldest ?? 0);
      const limit = Number(params.limit ?? 100);
      const offset = Number(params.cursor ?? 0);
      const roots = messages.filter((m) => m.channel === params.channel && !m.thread_ts && Number(m.ts) >= oldest).reverse();
      const page = roots.slice(offset, offset + limit);
      const more = offset + limit < roots.length;
      return {
        ok: true,
        messages: page.map((m) => view(m, withMetadata)),
        has_more: more,
        response_metadata: { next_cursor: more ? String(offset + limit) : '' },
      };
    }
    case 'conversations.replies': {
      const withMetadata = params.include_all_metadata === 'true' || params.include_all_metadata === true;
      const thread = messages.filter((m) => m.channel === params.channel && (m.ts === params.ts || m.thread_ts === params.ts));
      if (thread.length === 0) return { ok: false, error: 'thread_not_found' };
      return { ok: true, messages: thread.map((m) => view(m, withMetadata)), has_more: false, response_metadata: { next_cursor: '' } };
    }
    case 'chat.postEphemeral':
      return { ok: true, message_ts: nextTs() };
    case 'views.open':
    case 'views.update':
    case 'views.push':
      return { ok: true, view: { id: `V${Date.now()}`, ...(typeof params.view === 'object' ? params.view : {}) } };
    case 'usergroups.users.list':
      return usergroups[params.usergroup] ? { ok: true, users: usergroups[params.usergroup] } : { ok: false, error: 'no_such_subteam' };
    case 'conversations.info':
      return { ok: true, channel: { id: params.channel, name: 'fake-channel' } };
    default:
      return { ok: true };
  }
}

/** The buttons of `actions` blocks in recorded messages, with what a click needs. */
export function buttonsIn(
  calls: RecordedCall[],
): Array<{ actionId: string; value: string; text: string; ts: string | undefined; call: RecordedCall; confirm?: any }> {
  const out = [];
  for (const call of calls) {
    for (const block of (call.params.blocks ?? []) as any[]) {
      if (block.type !== 'actions') continue;
      for (const el of block.elements ?? []) {
        if (el.type === 'button')
          out.push({
            actionId: el.action_id,
            value: el.value,
            text: el.text?.text,
            ts: (call.params.ts ?? call.response?.ts) as string | undefined,
            call,
            confirm: el.confirm,
          });
      }
    }
  }
  return out;
}
