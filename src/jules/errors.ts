/**
 * Errors of the Jules module. Messages never carry the API key: the client scrubs it from anything the
 * server echoes, and the key is never stored on an error.
 */

/** Google's canonical codes (`error.status`) by HTTP status, for answers whose body has none. */
const CANONICAL_CODES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The canonical Google code for an HTTP status, e.g. `NOT_FOUND` for 404, `HTTP_418` when there is none. */
export function canonicalCodeOf(status: number): string {
  return CANONICAL_CODES[status] ?? `HTTP_${status}`;
}

/**
 * How every message about a key Jules refused begins: the task's error then says so, and the member whose own key
 * it was is told privately how to replace it ({@link isKeyRejectionText}).
 */
export const KEY_REJECTED_TEXT = 'Jules rejected the API key';

/** Whether a task's error says Jules refused the key that paid for it. */
export function isKeyRejectionText(text: string | undefined): boolean {
  return text?.startsWith(KEY_REJECTED_TEXT) ?? false;
}

/** What a {@link JulesApiError} is built from. */
export interface JulesApiErrorOptions {
  /** HTTP status; 0 when no usable HTTP answer arrived (network failure, timeout, unreadable body). */
  readonly status: number;
  /** Google's `error.status` (`NOT_FOUND`, `RESOURCE_EXHAUSTED`, …) or `NETWORK` / `TIMEOUT` / `INVALID_RESPONSE`. */
  readonly code: string;
  readonly message: string;
  /** How long the server asked us to wait, from `Retry-After` or a `google.rpc.RetryInfo` detail. */
  readonly retryAfterMs?: number;
  /** The `reason` of a `google.rpc.ErrorInfo` detail, e.g. `API_KEY_INVALID`. */
  readonly reason?: string;
  readonly method?: string;
  /** Request path without query, e.g. `/v1alpha/sessions/123`. */
  readonly path?: string;
  readonly cause?: unknown;
}

/**
 * Thrown by the HTTP Jules client when a call does not succeed: a non-2xx answer, a network failure, a
 * timeout, or a body that is not the JSON the API promises. The client never retries; callers (Temporal
 * activities) decide from `retryable` / `permanent`.
 */
export class JulesApiError extends Error {
  override readonly name = 'JulesApiError';
  /** HTTP status, or 0 when no usable HTTP answer arrived. */
  readonly status: number;
  /** Google's `error.status` string, or `NETWORK`, `TIMEOUT`, `INVALID_RESPONSE`. */
  readonly code: string;
  /** Server-requested delay before retrying, when it gave one. */
  readonly retryAfterMs?: number;
  /** Google's machine-readable reason (`google.rpc.ErrorInfo`), when the answer carried one. */
  readonly reason?: string;
  readonly method?: string;
  readonly path?: string;

  constructor(options: JulesApiErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.code = options.code;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.reason !== undefined) this.reason = options.reason;
    if (options.method !== undefined) this.method = options.method;
    if (options.path !== undefined) this.path = options.path;
  }

  /** True when the same call may succeed later: 429, any 5xx, a network failure or a timeout. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }

  /** True for 4xx answers other than 429 (bad input, rejected key, no access, not found): retrying will not help. */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 429;
  }

  /** True when Jules rejected the API key itself (401/403, or a 400 saying the key is invalid). */
  get keyRejected(): boolean {
    return this.status === 401 || this.status === 403 || this.reason === 'API_KEY_INVALID';
  }
}
