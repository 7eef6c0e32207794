/** Thrown while parsing `/interactions` when the Ed25519 signature is missing or wrong (answered 401). */
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
