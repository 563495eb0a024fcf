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
  'routingKey',
  '*.routingKey',
  '*.*.routingKey',
  'routing_key',
  '*.routing_key',
];

/**
 * A logger writing to `destination`, or to stdout: pretty lines on a terminal, JSON lines
 * elsewhere (a pipe, a file, a container's log collector). See logDestination.
 */
export function createLogger(options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const base: LoggerOptions = {
    name: 'redis-medic',
    level: process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...options,
    formatters: { ...options.formatters, log: (object) => withoutCommandArgs(options.formatters?.log?.(object) ?? object) },
  };
  return pino(base, destination ?? logDestination(process.stdout));
}

/**
 * Where log lines for `stream` go: through pino-pretty (coloured, one readable line per
 * entry, synchronous) when the stream is a terminal, else the stream itself, as JSON lines.
 * `LOG_FORMAT=json` or `LOG_FORMAT=pretty` overrides the guess. Redaction happens before
 * either: pino-pretty only reformats what pino has already censored.
 */
export function logDestination(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  format: string | undefined = process.env.LOG_FORMAT,
): pino.DestinationStream {
  const pretty = format === 'pretty' || (format !== 'json' && stream.isTTY === true);
  if (!pretty) return stream as pino.DestinationStream;
  // Loaded only for a terminal: JSON output pays nothing for it.
  const { build } = require('pino-pretty') as typeof import('pino-pretty');
  return build({
    destination: stream,
    sync: true,
    colorize: stream.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
  });
}

/**
 * ioredis attaches the command to every reply error (`err.command = { name, args }`): a failed
 * AUTH or HELLO carries the password there, a MIGRATE its AUTH option, a SET its value, at any
 * depth of a logged object (`{ err }`, `{ error }`, a cause, an array of errors). No redact path
 * can name every place an error may sit, so every logged object goes through this before it is
 * serialized: any `command` with `args`, on an error or not, keeps its name and loses its
 * arguments. The logged object and its errors are not changed: changed parts are copied (an
 * error keeps its prototype, message and stack, so pino's error serializer still reads it).
 */
export function withoutCommandArgs<T>(value: T): T {
  return scrub(value, 0, new Set()) as T;
}

const MAX_SCRUB_DEPTH = 8;
const MAX_SCRUB_ITEMS = 1000;

function scrub(value: unknown, depth: number, seen: Set<object>): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_SCRUB_DEPTH || seen.has(value)) return value;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value) || value instanceof Date) return value;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      const n = Math.min(value.length, MAX_SCRUB_ITEMS);
      for (let i = 0; i < n; i++) {
        const item = scrub(value[i], depth + 1, seen);
        if (item !== value[i]) (copy ??= [...value])[i] = item;
      }
      return copy ?? value;
    }
    const record = value as Record<string, unknown>;
    let changes: Record<string, unknown> | undefined;
    const command = record.command as { name?: unknown; args?: unknown } | undefined;
    if (command && typeof command === 'object' && 'args' in command && command.args !== '[redacted]') {
      const count = Array.isArray(command.args) ? command.args.length : 0;
      (changes ??= {}).command = { name: command.name, args: '[redacted]', argCount: count };
    }
    for (const key of Object.keys(record)) {
      if (key === 'command' && changes?.command) continue;
      const item = scrub(record[key], depth + 1, seen);
      if (item !== record[key]) (changes ??= {})[key] = item;
    }
    // An error's cause is not enumerable (new Error(m, { cause })): pino prints it all the same.
    if (value instanceof Error && value.cause !== undefined && !Object.keys(record).includes('cause')) {
      const cause = scrub(value.cause, depth + 1, seen);
      if (cause !== value.cause) (changes ??= {}).cause = cause;
    }
    if (!changes) return value;
    const copy = Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>;
    Object.defineProperties(copy, Object.getOwnPropertyDescriptors(value));
    for (const [key, item] of Object.entries(changes)) {
      const own = Object.getOwnPropertyDescriptor(copy, key);
      Object.defineProperty(copy, key, { value: item, writable: true, configurable: true, enumerable: own?.enumerable ?? true });
    }
    return copy;
  } finally {
    seen.delete(value);
  }
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
