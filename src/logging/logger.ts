import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

// Secrets must never reach logs. pino's redact censors these paths wherever they appear in
// a logged object; the wildcard forms catch nested cluster configs and HTTP headers.
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password', '*[*].password',
  'token', '*.token', '*.*.token',
  'botToken', 'appToken', 'signingSecret', 'approvalSecret', 'alertWebhookToken',
  '*.botToken', '*.appToken', '*.signingSecret', '*.approvalSecret', '*.alertWebhookToken',
  'authorization', '*.authorization', '*.headers.authorization', '*.headers["x-slack-signature"]',
  'redisUrl', '*.redisUrl',
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

/** Replace a password in a redis:// URL, for messages that must name the URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, (_m, user: string) => `//${user}:[redacted]@`);
}
