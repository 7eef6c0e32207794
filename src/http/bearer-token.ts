import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * A check of `Authorization: Bearer <token>` against one expected token, in constant time: both sides are hashed
 * first, so `timingSafeEqual` compares equal lengths whatever was presented and leaks neither length nor prefix.
 */
export function createBearerCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    // Compared even when nothing was presented, so a missing header costs the same as a wrong one.
    return timingSafeEqual(digest(presented ?? ''), expected) && presented !== undefined;
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
