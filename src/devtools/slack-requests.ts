import crypto from 'node:crypto';

/** Headers Slack sends with a request: HMAC-SHA256 over `v0:{timestamp}:{raw body}`. */
export function slackSignature(secret: string, body: string, timestamp: number = Math.floor(Date.now() / 1000)): Record<string, string> {
  const hmac = crypto.createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${hmac}`, 'x-slack-request-timestamp': String(timestamp) };
}

export interface SignedPost {
  url: string;
  body: string;
  headers: Record<string, string>;
}

export interface SignOptions {
  /** Unix seconds; default now. */
  timestamp?: number;
  /** Replace the signature (to test a wrong one); `null` sends none. */
  signature?: string | null;
}

function signed(url: string, body: string, secret: string, options: SignOptions): SignedPost {
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    ...slackSignature(secret, body, options.timestamp),
  };
  if (options.signature === null) delete headers['x-slack-signature'];
  else if (options.signature !== undefined) headers['x-slack-signature'] = options.signature;
  return { url, body, headers };
}

/** A slash command as Slack posts it. */
export function slashCommand(
  url: string,
  secret: string,
  fields: Partial<Record<string, string>> & { text: string },
  options: SignOptions = {},
): SignedPost {
  const params = new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0FAKE',
    team_domain: 'fake',
    channel_id: 'C0INCIDENTS',
    channel_name: 'incidents',
    user_id: 'U0ASKER',
    user_name: 'asker',
    command: '/redis-diagnose',
    api_app_id: 'A0APP',
    response_url: 'http://127.0.0.1:1/response/unused',
    trigger_id: `trigger-${crypto.randomUUID()}`,
    ...(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<string, string>),
  });
  return signed(url, params.toString(), secret, options);
}

/** An interactivity payload (block_actions, view_submission) as Slack posts it. */
export function interaction(url: string, secret: string, payload: Record<string, unknown>, options: SignOptions = {}): SignedPost {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return signed(url, body, secret, options);
}

/** A block_actions payload for one button click. */
export function buttonClick(input: {
  actionId: string;
  value: string;
  userId: string;
  channel?: string;
  messageTs?: string;
  threadTs?: string;
  responseUrl?: string;
}): Record<string, unknown> {
  return {
    type: 'block_actions',
    team: { id: 'T0FAKE', domain: 'fake' },
    user: { id: input.userId, username: input.userId.toLowerCase(), team_id: 'T0FAKE' },
    api_app_id: 'A0APP',
    token: 'deprecated-verification-token',
    container: {
      type: 'message',
      message_ts: input.messageTs ?? '1700000000.000001',
      channel_id: input.channel ?? 'C0INCIDENTS',
      is_ephemeral: false,
    },
    trigger_id: `trigger-${crypto.randomUUID()}`,
    channel: { id: input.channel ?? 'C0INCIDENTS', name: 'incidents' },
    message: {
      type: 'message',
      ts: input.messageTs ?? '1700000000.000001',
      ...(input.threadTs ? { thread_ts: input.threadTs } : {}),
      text: '',
      blocks: [],
    },
    response_url: input.responseUrl ?? 'http://127.0.0.1:1/response/unused',
    actions: [{ action_id: input.actionId, block_id: 'fixes', type: 'button', value: input.value, action_ts: String(Date.now() / 1000) }],
  };
}

/** Send a signed post; resolves with status and body text. */
export async function send(post: SignedPost): Promise<{ status: number; body: string }> {
  const res = await fetch(post.url, { method: 'POST', headers: post.headers, body: post.body });
  return { status: res.status, body: await res.text() };
}
