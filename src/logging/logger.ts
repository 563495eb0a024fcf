import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

// Secrets must never reach logs. pino's redact censors these paths wherever they appear in
// a logged object; the wildcard forms catch nested cluster configs and HTTP headers.
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  '*[*].password',
  'token',
  '*.token',
  '*.*.token',
  'botToken',
  'appToken',
  'signingSecret',
  'approvalSecret',
  'alertWebhookToken',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  '*.approvalSecret',
  '*.alertWebhookToken',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-slack-signature"]',
  'redisUrl',
  '*.redisUrl',
];

export function createLogger(options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const base: LoggerOptions = {
    name: 'redis-medic',
    level: process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...options,
  };
  return destination ? pino(base, destination) : pino(base);
}

/** A logger that writes nothing: for tests and for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** Query parameters that carry credentials (ioredis reads `?password=` as the password). */
const SECRET_PARAM = /pass|pwd|secret|token|auth|key/i;

/**
 * A URL with its credentials replaced, for messages that must name it. Parsed with the URL
 * parser, not a pattern: a password may contain `@` or `:`, and `?password=` is a password too.
 * Anything that does not parse as a URL is not shown at all (it may be a password typed
 * in the wrong field).
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '[unparseable URL, not shown]';
  }
  const userinfo = parsed.username || parsed.password ? `${parsed.username}${parsed.password ? ':[redacted]' : ''}@` : '';
  const params = [...parsed.searchParams.entries()].map(
    ([k, v]) => `${encodeURIComponent(k)}=${SECRET_PARAM.test(k) ? '[redacted]' : encodeURIComponent(v)}`,
  );
  const path = parsed.pathname === '/' && !url.endsWith('/') ? '' : parsed.pathname;
  return `${parsed.protocol}//${userinfo}${parsed.host}${path}${params.length ? `?${params.join('&')}` : ''}`;
}

/** Every URL in a text replaced by its redacted form (error messages may quote one). */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (m) => redactUrl(m));
}
