import { HTTP_LIMITS } from './limits';
import { JsonTooDeepError, MalformedBodyError, UnsafeJsonError } from './errors';

/**
 * The one JSON parser of the ingress, for signed and unsigned routes alike. Beyond `JSON.parse` it refuses, with
 * a 400 that says why: nesting deeper than `maxDepth` (checked on the bytes, before any object is built), NUL
 * characters and numbers too large for a double (`1e400`); it drops the keys that pollute prototypes
 * (`__proto__`, `constructor.prototype`).
 */
export function parseJsonBody(raw: Buffer | string, maxDepth: number = HTTP_LIMITS.jsonDepth): unknown {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  checkDepth(text, maxDepth);
  try {
    return JSON.parse(text, refuseUnsafe) as unknown;
  } catch (err) {
    if (err instanceof UnsafeJsonError) throw err;
    throw new MalformedBodyError(err);
  }
}

/** Throws when `[` and `{` (outside strings) open more than `maxDepth` levels; a malformed text is left to JSON.parse. */
function checkDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) throw new JsonTooDeepError(maxDepth);
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
}

/** A `JSON.parse` reviver: sees every key and value once, innermost first. */
function refuseUnsafe(this: unknown, key: string, value: unknown): unknown {
  // Dropped rather than refused: no route reads them, and a schema-valid body stays accepted (OpenAPI cannot say
  // "any key but __proto__"). Returning undefined deletes the key; an own `__proto__` never reaches a spread.
  if (key === '__proto__') return undefined;
  if (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype')) {
    delete (value as { prototype?: unknown }).prototype;
  }
  if (typeof value === 'string' && value.includes('\u0000')) {
    throw new UnsafeJsonError('JSON_NUL_CHARACTER', `the JSON body has a NUL character (\\u0000) in ${key === '' ? 'a string' : `"${key.slice(0, 50)}"`}`);
  }
  if (key.includes('\u0000')) throw new UnsafeJsonError('JSON_NUL_CHARACTER', 'the JSON body has a NUL character (\\u0000) in a key');
  // Only what no number can be: a field the routes read bounds its integers in its schema (`maximum`), where the
  // OpenAPI document says so too; a big number in a field nobody reads harms nothing.
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new UnsafeJsonError('JSON_NUMBER_TOO_LARGE', `the JSON body has a number too large to hold${key === '' ? '' : ` in "${key.slice(0, 50)}"`}`);
  }
  return value;
}
