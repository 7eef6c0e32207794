/** Thrown while parsing a signed route (`/interactions`, `/webhook/jules`, `/webhook/github`) when the signature is missing or wrong (answered 401). */
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

/** Thrown by a signed webhook route when a verified delivery carries no delivery id to dedupe on (answered 400). */
export class MissingDeliveryIdError extends Error {
  readonly status = 400;
  readonly statusCode = 400;
  readonly code = 'MISSING_DELIVERY_ID';
  /** `where` names what should have carried it, e.g. "the X-GitHub-Delivery header". */
  constructor(where: string) {
    super(`a delivery id is required: ${where}`);
    this.name = 'MissingDeliveryIdError';
  }
}

/**
 * Thrown by a signed webhook route when a correctly signed body is in a content type the route does not take
 * (answered 415); the message says what the sender should change.
 */
export class UnsupportedContentTypeError extends Error {
  readonly status = 415;
  readonly statusCode = 415;
  readonly code = 'UNSUPPORTED_CONTENT_TYPE';
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedContentTypeError';
  }
}

/** Thrown by a webhook route when a JSON body lacks what its event must carry (answered 400); nothing is recorded. */
export class InvalidPayloadError extends Error {
  readonly status = 400;
  readonly statusCode = 400;
  readonly code = 'INVALID_PAYLOAD';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPayloadError';
  }
}
