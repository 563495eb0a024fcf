// The demo's local channel page: what the local Slack stand-in holds, shown as a channel in a
// browser and kept live over Server-Sent Events. The person types /redis-diagnose and clicks
// buttons there; each becomes the signed request Slack would send into the running app.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import escapeHtml from 'escape-html';
import type { FakeSlack, RecordedCall, StoredMessage } from './local-slack';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './demo-page';
import { blocksToHtml } from './render-blocks';
import { buttonClick, interaction, send, slashCommand } from './slack-requests';

export interface DemoChannelOptions {
  slack: FakeSlack;
  /** The app's Slack request URL (…/slack/events). */
  eventsUrl: string;
  signingSecret: string;
  channel: string;
  channelName: string;
  /** Who the person at the page may be. */
  users: readonly string[];
  /** Port to listen on, on 127.0.0.1 (0: any free port). */
  port?: number;
  /** The sidebar's cluster panel, as HTML the caller escaped. */
  clusterHtml: () => string;
  /** "Break the cluster": resolves with what was done, rejects with why not. */
  breakCluster: () => Promise<string>;
}

export interface DemoChannel {
  url: string;
  /** Feed every Web API call the app makes (FakeSlack's onCall). */
  record(call: RecordedCall): void;
  /** Redraw (after the cluster changed). */
  changed(): void;
  close(): Promise<void>;
}

interface Ephemeral {
  key: string;
  /** Sorts it among the stored messages: after the ones that existed when it arrived. */
  pos: number;
  threadTs: string | undefined;
  user: string | undefined;
  text: unknown;
  blocks: unknown;
}

/** Where a response_url we handed out leads: the thread of the message clicked, and who. */
interface ResponseTarget {
  threadTs: string | undefined;
  user: string;
}

const MAX_BODY = 8 * 1024;

export async function startDemoChannel(options: DemoChannelOptions): Promise<DemoChannel> {
  const { slack } = options;
  const ephemerals: Ephemeral[] = [];
  const targets = new Map<string, ResponseTarget>();
  const streams = new Set<http.ServerResponse>();
  let version = 0;
  let requests = 0;
  let pending: NodeJS.Timeout | undefined;
  let breaking = false;

  const addEphemeral = (target: ResponseTarget | undefined, body: { text?: unknown; blocks?: unknown }): void => {
    ephemerals.push({
      key: `e${ephemerals.length}`,
      pos: slack.messages.length - 0.5 + ephemerals.length * 1e-6,
      threadTs: target?.threadTs,
      user: target?.user,
      text: body.text,
      blocks: body.blocks,
    });
    changed();
  };

  const state = (): string =>
    JSON.stringify({ version, channelHtml: channelHtml(slack.messages, ephemerals, options.channel), clusterHtml: options.clusterHtml() });

  // Coalesce bursts (a repair edits its message once per step) into one redraw.
  function changed(): void {
    version++;
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      const data = `data: ${state()}\n\n`;
      for (const res of streams) res.write(data);
    }, 50);
  }

  const clickTarget = (buttonId: string): { message: StoredMessage | Ephemeral; button: any; threadTs: string | undefined } => {
    const [key, blockIndex, elementIndex] = buttonId.split(':');
    const message: StoredMessage | Ephemeral | undefined = key?.startsWith('e')
      ? ephemerals.find((e) => e.key === key)
      : slack.messages.find((m) => m.channel === options.channel && m.ts === key?.slice(1));
    const block = Array.isArray(message?.blocks) ? (message.blocks as any[])[Number(blockIndex)] : undefined;
    const button = elementIndex === 'accessory' ? block?.accessory : block?.elements?.[Number(elementIndex)];
    if (!message || button?.type !== 'button') throw new PageError(404, 'That button is gone (the message was edited): nothing was sent.');
    const threadTs = 'ts' in message ? (message.thread_ts ?? message.ts) : message.threadTs;
    return { message, button, threadTs };
  };

  const routes: Record<string, (body: Record<string, unknown>) => Promise<string>> = {
    '/command': async (body) => {
      const user = userOf(body, options.users);
      const typed = String(body.text ?? '').trim();
      const match = /^\/redis-diagnose(?:\s+([\s\S]*))?$/.exec(typed);
      if (!match)
        throw new PageError(400, 'Only /redis-diagnose is wired to this channel: try "/redis-diagnose demo" or "/redis-diagnose list".');
      const key = `cmd-${++requests}`;
      targets.set(key, { threadTs: undefined, user });
      const res = await send(
        slashCommand(options.eventsUrl, options.signingSecret, {
          text: match[1]?.trim() ?? '',
          user_id: user,
          channel_id: options.channel,
          channel_name: options.channelName,
          response_url: `${slack.responseUrlBase}${key}`,
        }),
      );
      if (res.status !== 200) throw new PageError(502, `The app answered HTTP ${res.status} to the slash command.`);
      const ack = parseJson(res.body);
      if (ack && (ack.text || ack.blocks)) addEphemeral({ threadTs: undefined, user }, ack);
      return `Sent /redis-diagnose ${match[1]?.trim() ?? ''} as ${user} (a signed slash command).`;
    },
    '/click': async (body) => {
      const user = userOf(body, options.users);
      const { message, button, threadTs } = clickTarget(String(body.button ?? ''));
      const key = `click-${++requests}`;
      targets.set(key, { threadTs, user });
      const messageTs = 'ts' in message ? message.ts : undefined;
      const res = await send(
        interaction(
          options.eventsUrl,
          options.signingSecret,
          buttonClick({
            actionId: String(button.action_id),
            value: String(button.value ?? ''),
            userId: user,
            channel: options.channel,
            ...(messageTs ? { messageTs } : {}),
            ...(threadTs ? { threadTs } : {}),
            responseUrl: `${slack.responseUrlBase}${key}`,
          }),
        ),
      );
      if (res.status !== 200) throw new PageError(502, `The app answered HTTP ${res.status} to the click.`);
      return `Clicked "${String(button.text?.text ?? button.action_id)}" as ${user} (a signed block_actions request).`;
    },
    '/break': async () => {
      if (breaking) throw new PageError(409, 'Already breaking it.');
      breaking = true;
      try {
        const done = await options.breakCluster();
        changed();
        return done;
      } catch (err) {
        throw new PageError(409, (err as Error).message);
      } finally {
        breaking = false;
      }
    },
  };

  const server = http.createServer((req, res) => {
    const host = req.headers.host ?? '';
    const { port } = server.address() as AddressInfo;
    // Only this page, by its own address: no DNS rebinding, no cross-site form posts (JSON only).
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return plain(res, 421, 'Use the address the demo printed.');
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET') {
      if (path === '/') return asset(res, 'text/html; charset=utf-8', PAGE_HTML);
      if (path === '/page.js') return asset(res, 'text/javascript; charset=utf-8', PAGE_JS);
      if (path === '/page.css') return asset(res, 'text/css; charset=utf-8', PAGE_CSS);
      if (path === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        res.write(`data: ${state()}\n\n`);
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      }
      return plain(res, 404, 'not found');
    }
    const route = req.method === 'POST' && path ? routes[path] : undefined;
    if (!route) return plain(res, 404, 'not found');
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return plain(res, 415, 'JSON only');
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const body = size > MAX_BODY ? undefined : parseJson(Buffer.concat(chunks).toString('utf8'));
      if (!body) return json(res, 400, { ok: false, message: 'Expected a small JSON object.' });
      route(body).then(
        (message) => json(res, 200, { ok: true, message }),
        (err: unknown) => json(res, err instanceof PageError ? err.status : 500, { ok: false, message: (err as Error).message }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    record(call) {
      if (call.method.startsWith('response_url/')) {
        const target = targets.get(call.method.slice(call.method.lastIndexOf('/') + 1));
        if (!call.params.delete_original) addEphemeral(target, call.params);
        return;
      }
      if (call.method === 'chat.postEphemeral') {
        addEphemeral({ threadTs: call.params.thread_ts, user: call.params.user }, call.params);
        return;
      }
      if (call.method === 'chat.postMessage' || call.method === 'chat.update' || call.method === 'chat.delete') changed();
    },
    changed,
    close: () =>
      new Promise<void>((resolve) => {
        if (pending) clearTimeout(pending);
        for (const res of streams) res.end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

class PageError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function userOf(body: Record<string, unknown>, users: readonly string[]): string {
  const user = String(body.user ?? users[0]);
  if (!users.includes(user)) throw new PageError(400, `Unknown user "${user}": choose one of ${users.join(', ')}.`);
  return user;
}

function parseJson(text: string): Record<string, any> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";

function asset(res: http.ServerResponse, type: string, body: string): void {
  res.writeHead(200, {
    'content-type': type,
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  });
  res.end(body);
}

function plain(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// ---- the channel as HTML ------------------------------------------------------------------

function channelHtml(messages: readonly StoredMessage[], ephemerals: readonly Ephemeral[], channel: string): string {
  const stored = messages.map((m, pos) => ({ m, pos })).filter(({ m }) => m.channel === channel);
  type Item = { pos: number; html: string; threadTs: string | undefined; ts?: string };
  const items: Item[] = [
    ...stored.map(({ m, pos }) => ({ pos, ts: m.ts, threadTs: m.thread_ts, html: messageHtml(m) })),
    ...ephemerals.map((e) => ({ pos: e.pos, threadTs: e.threadTs, html: ephemeralHtml(e) })),
  ].sort((a, b) => a.pos - b.pos);
  const roots = items.filter((i) => !i.threadTs || !stored.some(({ m }) => m.ts === i.threadTs));
  if (roots.length === 0)
    return '<p class="muted">Nothing here yet. Break the cluster (left) and the bot opens an incident by itself, or type <code>/redis-diagnose demo</code> below.</p>';
  return roots
    .map((root) => {
      const replies = root.ts ? items.filter((i) => i.threadTs === root.ts && i !== root) : [];
      const thread = replies.length
        ? `<div class="thread"><div class="thread-label">${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}</div>${replies
            .map((r) => r.html)
            .join('')}</div>`
        : '';
      return root.html.replace(/<\/article>$/, `${thread}</article>`);
    })
    .join('');
}

function timeOf(ts: string): string {
  const seconds = Number(ts.split('.')[0]);
  return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString().slice(11, 19) : '';
}

function messageHtml(m: StoredMessage): string {
  const key = `m${m.ts}`;
  return `<article class="msg" data-ts="${escapeHtml(m.ts)}"><div class="msg-head"><b>redis-medic</b><span class="app">APP</span>${escapeHtml(
    timeOf(m.ts),
  )}</div>${blocksToHtml(m.blocks, m.text, (b, e) => `${key}:${b}:${e}`)}</article>`;
}

function ephemeralHtml(e: Ephemeral): string {
  return `<article class="msg ephemeral"><div class="msg-head"><b>redis-medic</b><span class="app">APP</span>Only visible to ${escapeHtml(
    e.user ?? 'you',
  )}</div>${blocksToHtml(e.blocks, e.text, (b, el) => `${e.key}:${b}:${el}`)}</article>`;
}
