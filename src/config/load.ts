import fs from 'node:fs';
import YAML from 'yaml';
import type { z } from 'zod';
import { ErrorCode, RedisMedicError } from '../errors';
import { configFromEnv } from './env';
import { queueRedisAddress } from './queue-address';
import { configSchema, type Config } from './schema';
import { describeUnknownKey, findUnknownKeys } from './unknown-keys';

// Where it always was, for its callers; it lives apart so that the CLI can use it without zod.
export { queueRedisAddress } from './queue-address';

export interface LoadOptions {
  /** Path of a YAML or JSON file; defaults to $REDIS_MEDIC_CONFIG. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values merged over the file (CLI flags, tests). */
  overrides?: Record<string, unknown>;
}

/**
 * Load the configuration: file (YAML/JSON, `${VAR}` expanded from the environment), then the
 * environment variables, then explicit overrides; validated as a whole, with every problem
 * named by its path.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.REDIS_MEDIC_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new RedisMedicError(ErrorCode.ConfigError, `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    // Expanded after parsing, in string values only: a `${VAR}` in a comment is left alone, and a
    // secret containing `#` or `: ` cannot change the YAML around it.
    raw = expandEnvIn(parseConfigText(text, file), env, file) as Record<string, unknown>;
  }
  return parseConfig(deepMerge(deepMerge(raw, configFromEnv(env)), options.overrides ?? {}));
}

/**
 * Validate a whole configuration. Unknown keys are errors too (with the nearest known key as a
 * suggestion): a misspelt setting must not silently fall back to its default.
 */
export function parseConfig(raw: unknown): Config {
  const result = configSchema.safeParse(raw);
  const problems = [
    ...findUnknownKeys(configSchema, raw).map((u) => `- ${describeUnknownKey(u)}`),
    ...(result.success ? [] : [formatIssues(result.error)]),
  ];
  if (!result.success || problems.length > 0)
    throw new RedisMedicError(ErrorCode.ConfigError, `invalid configuration:\n${problems.join('\n')}`);
  const names = result.data.clusters.map((c) => c.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate)
    throw new RedisMedicError(ErrorCode.ConfigError, `invalid configuration:\n- clusters: the name "${duplicate}" is used twice`);
  const queue = queueRedisAddress(result.data.queue.redisUrl);
  if (queue) for (const cluster of result.data.clusters) cluster.neverContact = [...new Set([...(cluster.neverContact ?? []), queue])];
  return result.data;
}

function parseConfigText(text: string, file: string): Record<string, unknown> {
  try {
    const parsed: unknown = YAML.parse(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the top level must be a mapping');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new RedisMedicError(ErrorCode.ConfigError, `cannot parse config file ${file}: ${(err as Error).message}`);
  }
}

/** `${NAME}` in a string value is replaced by the environment variable, so secrets stay out of files. */
function expandEnvIn(value: unknown, env: NodeJS.ProcessEnv, file: string): unknown {
  if (typeof value === 'string') return expandEnv(value, env, file);
  if (Array.isArray(value)) return value.map((v) => expandEnvIn(v, env, file));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnvIn(v, env, file)]));
  return value;
}

function expandEnv(text: string, env: NodeJS.ProcessEnv, file: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const value = env[name];
    if (value === undefined)
      throw new RedisMedicError(ErrorCode.ConfigError, `config file ${file} uses \${${name}}, which is not set in the environment`);
    return value;
  });
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `- ${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n');
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
