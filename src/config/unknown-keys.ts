import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';

export interface UnknownKey {
  /** Dotted path of the key, e.g. `clusters.0.chanel`. */
  path: string;
  /** The closest known key at that level, when one is close enough to be a typo. */
  suggestion?: string;
}

/** What this walker needs of a zod schema's definition (zod 4 keeps it in `_zod.def`). */
interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  catchall?: z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/**
 * Keys in `raw` that `schema` does not know, at every depth (zod strips them silently, so a
 * typo such as `chanel` would otherwise leave a setting at its default without a word). Reads
 * the schema itself, so a key added to the schema is known here at once.
 */
export function findUnknownKeys(schema: z.ZodType, raw: unknown, path: string[] = []): UnknownKey[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
      return def.innerType ? findUnknownKeys(def.innerType, raw, path) : [];
    case 'pipe':
      return def.in ? findUnknownKeys(def.in, raw, path) : [];
    case 'array':
      if (!Array.isArray(raw) || !def.element) return [];
      return raw.flatMap((item, i) => findUnknownKeys(def.element!, item, [...path, String(i)]));
    case 'object': {
      if (!isPlainObject(raw) || !def.shape) return [];
      // An object with a catch-all (passthrough, record-like) accepts any key.
      const open = def.catchall !== undefined && defOf(def.catchall).type !== 'never';
      const known = Object.keys(def.shape);
      const out: UnknownKey[] = [];
      for (const [key, value] of Object.entries(raw)) {
        const child = def.shape[key];
        if (child) out.push(...findUnknownKeys(child, value, [...path, key]));
        else if (!open) out.push({ path: [...path, key].join('.'), ...suggest(key, known) });
      }
      return out;
    }
    default:
      return [];
  }
}

/** `chanel` → `channel`: the nearest known key, if it is within a third of the key's length. */
function suggest(key: string, known: string[]): { suggestion?: string } {
  if (known.length === 0) return {};
  const best = closest(key, known);
  const limit = Math.max(1, Math.floor(Math.max(key.length, best.length) / 3));
  const sameIgnoringCase = best.toLowerCase() === key.toLowerCase();
  return sameIgnoringCase || distance(key, best) <= limit ? { suggestion: best } : {};
}

export function describeUnknownKey(u: UnknownKey): string {
  return `\`${u.path}\`: unknown key${u.suggestion ? `, did you mean \`${u.suggestion}\`?` : ''}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
