/** Thrown while parsing a signed route (`/interactions`, `/webhook/jules`) when the signature is missing or wrong (answered 401). */
export class InvalidSignatureError extends Error {
  readonly status = 401;
  readonly statusCode = 401;
  readonly code = 'INVALID_SIGNATURE';
  constructor() {
    super('invalid request signature');
    this.name = 'InvalidSignatureError';
  }
}

/** Thrown while parsing a body that is not JSON (answered 400). */
export class MalformedBodyError extends Error {
  readonly status = 400;
  readonly statusCode = 400;
  readonly code = 'MALFORMED_BODY';
  constructor(cause?: unknown) {
    super('the body is not valid JSON', { cause });
    this.name = 'MalformedBodyError';
  }
}

/**
 * Thrown while parsing `/webhook/jules` when a correctly signed request's timestamp is more than the allowed
 * skew away from now (answered 401), so a captured request cannot be replayed later.
 */
export class StaleTimestampError extends Error {
  readonly status = 401;
  readonly statusCode = 401;
  readonly code = 'STALE_TIMESTAMP';
  constructor(readonly skewSeconds: number) {
    super('stale request: the timestamp is more than 5 minutes away from the server clock');
    this.name = 'StaleTimestampError';
  }
}
