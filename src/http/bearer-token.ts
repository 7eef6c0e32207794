import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * A check of a presented token against one expected token, in constant time: both sides are hashed first, so
 * `timingSafeEqual` compares equal lengths whatever was presented and leaks neither length nor prefix. Compared
 * even when nothing was presented, so a missing token costs the same as a wrong one.
 */
export function createTokenCheck(token: string): (presented: string | undefined) => boolean {
  const expected = digest(token);
  return (presented) => timingSafeEqual(digest(presented ?? ''), expected) && presented !== undefined;
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it holds. */
export function bearerTokenOf(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
}

/** A check of `Authorization: Bearer <token>` against one expected token ({@link createTokenCheck}). */
export function createBearerCheck(token: string): (authorization: string | undefined) => boolean {
  const matches = createTokenCheck(token);
  return (authorization) => matches(bearerTokenOf(authorization));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
