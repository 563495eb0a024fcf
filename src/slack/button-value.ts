import crypto from 'node:crypto';
import type { Config } from '../config/schema';
import { ErrorCode, RedisMedicError } from '../errors';
import type { Logger } from '../logging/logger';

/**
 * What a button carries. Slack sends a button's value back verbatim, so the value is signed:
 * whoever alters it (another plan id, another cluster, another approval) fails the check.
 */
export type ButtonPayload =
  | { kind: 'approve' | 'dry-run'; approvalId: string; cluster: string; planId: string }
  | { kind: 'rediagnose'; cluster: string };

const VERSION = 1;
const KIND_CODES = { approve: 'a', 'dry-run': 'd', rediagnose: 'r' } as const;
const CODE_KINDS: Record<string, ButtonPayload['kind']> = { a: 'approve', d: 'dry-run', r: 'rediagnose' };

export interface ButtonSigner {
  sign(payload: ButtonPayload): string;
  /** Throws BadSignature for anything altered, truncated or not made by us. */
  verify(value: string): ButtonPayload;
}

/** The values of one diagnosis's fix buttons; signing is deterministic, so they can be rebuilt. */
export function fixButtonValues(
  signer: ButtonSigner,
  approval: { id: string; cluster: string },
): { approve(plan: { id: string }): string; dryRun(plan: { id: string }): string } {
  return {
    approve: (plan) => signer.sign({ kind: 'approve', approvalId: approval.id, cluster: approval.cluster, planId: plan.id }),
    dryRun: (plan) => signer.sign({ kind: 'dry-run', approvalId: approval.id, cluster: approval.cluster, planId: plan.id }),
  };
}

export function createButtonSigner(key: string | Buffer): ButtonSigner {
  const mac = (payload: ButtonPayload): Buffer => crypto.createHmac('sha256', key).update(canonical(payload)).digest();
  return {
    sign(payload) {
      const wire: Record<string, unknown> = { v: VERSION, k: KIND_CODES[payload.kind], c: payload.cluster };
      if (payload.kind !== 'rediagnose') Object.assign(wire, { a: payload.approvalId, p: payload.planId });
      wire.s = mac(payload).toString('base64url');
      return JSON.stringify(wire);
    },
    verify(value) {
      const payload = decode(value);
      const given = Buffer.from(payload.signature, 'base64url');
      const expected = mac(payload.payload);
      if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
        throw badValue('its signature does not match (the value was altered, or signed with another key)');
      }
      return payload.payload;
    },
  };
}

/**
 * The HMAC key for button values: `approvalSecret` when configured; otherwise derived from the
 * signing secret (every replica shares it, so they agree), said once in the log. Socket Mode
 * has no signing secret, so there an approvalSecret is required.
 */
export function buttonKey(config: Config, logger: Logger): Buffer {
  if (config.approvalSecret) return Buffer.from(config.approvalSecret, 'utf8');
  const signingSecret = config.slack.signingSecret;
  if (!signingSecret) {
    throw new RedisMedicError(
      ErrorCode.ConfigError,
      'set APPROVAL_SECRET (approvalSecret): it signs the approve buttons, and there is no signing secret to derive it from',
    );
  }
  logger.warn(
    'approvalSecret is not set: deriving the button signing key from the Slack signing secret (set APPROVAL_SECRET to keep buttons valid across a signing-secret rotation)',
  );
  return crypto.createHmac('sha256', signingSecret).update('redis-medic button key v1').digest();
}

function canonical(payload: ButtonPayload): string {
  const parts =
    payload.kind === 'rediagnose'
      ? [VERSION, payload.kind, payload.cluster]
      : [VERSION, payload.kind, payload.approvalId, payload.cluster, payload.planId];
  // JSON of an array: no separator inside a field can make two payloads collide.
  return JSON.stringify(parts);
}

function decode(value: string): { payload: ButtonPayload; signature: string } {
  let wire: unknown;
  try {
    wire = JSON.parse(value);
  } catch {
    throw badValue('it is not the JSON redis-medic puts in its buttons');
  }
  if (typeof wire !== 'object' || wire === null) throw badValue('it is not an object');
  const w = wire as Record<string, unknown>;
  const str = (key: string): string => {
    const v = w[key];
    if (typeof v !== 'string' || v === '') throw badValue(`field "${key}" is missing`);
    return v;
  };
  if (w.v !== VERSION) throw badValue(`unknown version ${JSON.stringify(w.v)}`);
  const kind = CODE_KINDS[str('k')];
  if (!kind) throw badValue('unknown button kind');
  const payload: ButtonPayload =
    kind === 'rediagnose' ? { kind, cluster: str('c') } : { kind, approvalId: str('a'), cluster: str('c'), planId: str('p') };
  return { payload, signature: str('s') };
}

function badValue(why: string): RedisMedicError {
  return new RedisMedicError(ErrorCode.BadSignature, `button value refused: ${why}`);
}
