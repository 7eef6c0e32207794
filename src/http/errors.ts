/**
 * What every error of the HTTP ingress carries: the status it is answered with (`statusCode` is what fastify's
 * error handler reads) and a stable `code` clients can branch on. The message is said to the client (4xx only).
 */
export class HttpRequestError<Status extends number = number, Code extends string = string> extends Error {
  readonly statusCode: Status;
  readonly status: Status;
  readonly code: Code;
  constructor(status: Status, code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.statusCode = status;
    this.name = new.target.name;
  }
}

/** Thrown while parsing a signed route (`/interactions`, `/webhook/jules`, `/webhook/github`) when the signature is missing or wrong (answered 401). */
export class InvalidSignatureError extends HttpRequestError<401, 'INVALID_SIGNATURE'> {
  constructor() {
    super(401, 'INVALID_SIGNATURE', 'invalid request signature');
  }
}

/** Thrown while parsing a body that is not JSON (answered 400). */
export class MalformedBodyError extends HttpRequestError<400, 'MALFORMED_BODY'> {
  constructor(cause?: unknown) {
    super(400, 'MALFORMED_BODY', 'the body is not valid JSON', { cause });
  }
}

/**
 * Thrown while parsing `/webhook/jules` when a correctly signed request's timestamp is more than the allowed
 * skew away from now (answered 401), so a captured request cannot be replayed later.
 */
export class StaleTimestampError extends HttpRequestError<401, 'STALE_TIMESTAMP'> {
  readonly skewSeconds: number;
  constructor(skewSeconds: number) {
    super(401, 'STALE_TIMESTAMP', 'stale request: the timestamp is more than 5 minutes away from the server clock');
    this.skewSeconds = skewSeconds;
  }
}

/** Thrown by a signed webhook route when a verified delivery carries no delivery id to dedupe on (answered 400). */
export class MissingDeliveryIdError extends HttpRequestError<400, 'MISSING_DELIVERY_ID'> {
  /** `where` names what should have carried it, e.g. "the X-GitHub-Delivery header". */
  constructor(where: string) {
    super(400, 'MISSING_DELIVERY_ID', `a delivery id is required: ${where}`);
  }
}

/**
 * Thrown by a signed webhook route when a correctly signed body is in a content type the route does not take
 * (answered 415); the message says what the sender should change.
 */
export class UnsupportedContentTypeError extends HttpRequestError<415, 'UNSUPPORTED_CONTENT_TYPE'> {
  constructor(message: string) {
    super(415, 'UNSUPPORTED_CONTENT_TYPE', message);
  }
}

/** Thrown by a webhook route when a JSON body lacks what its event must carry (answered 400); nothing is recorded. */
export class InvalidPayloadError extends HttpRequestError<400, 'INVALID_PAYLOAD'> {
  constructor(message: string) {
    super(400, 'INVALID_PAYLOAD', message);
  }
}

/** Thrown while parsing a JSON body whose objects and arrays nest deeper than `HTTP_LIMITS.jsonDepth` (answered 400). */
export class JsonTooDeepError extends HttpRequestError<400, 'JSON_TOO_DEEP'> {
  readonly maxDepth: number;
  constructor(maxDepth: number) {
    super(400, 'JSON_TOO_DEEP', `the JSON body nests objects and arrays more than ${maxDepth} deep`);
    this.maxDepth = maxDepth;
  }
}

/** Why a JSON body that parses is still refused (see {@link UnsafeJsonError}). */
export type UnsafeJsonCode = 'JSON_NUL_CHARACTER' | 'JSON_NUMBER_TOO_LARGE';

/**
 * Thrown while parsing a JSON body that is valid JSON but unsafe to pass on (answered 400): a NUL character
 * (Postgres text cannot hold one) or a number beyond a double's range (`1e400`).
 */
export class UnsafeJsonError extends HttpRequestError<400, UnsafeJsonCode> {
  constructor(code: UnsafeJsonCode, message: string) {
    super(400, code, message);
  }
}

/** Thrown for a body over its route's limit (answered 413) before it is read into memory. */
export class BodyTooLargeError extends HttpRequestError<413, 'BODY_TOO_LARGE'> {
  constructor(limitBytes: number) {
    super(413, 'BODY_TOO_LARGE', `the body is larger than this route takes (${limitBytes} bytes)`);
  }
}

/** Thrown for a method a known path does not take (answered 405, with `Allow`). */
export class MethodNotAllowedError extends HttpRequestError<405, 'METHOD_NOT_ALLOWED'> {
  readonly allowed: readonly string[];
  constructor(method: string, allowed: readonly string[]) {
    super(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allowed.join(' or ')}`);
    this.allowed = allowed;
  }
}
