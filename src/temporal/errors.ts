/** What went wrong while finding or installing a Temporal executable. */
export type ToolchainErrorCode = 'explicit-path-invalid' | 'install-failed' | 'not-found';

/**
 * Thrown when the Temporal CLI or test server cannot be found or installed: an explicit path that points
 * at nothing (`explicit-path-invalid`), a pip install that failed when it was the last option
 * (`install-failed`), or no source left to try (`not-found`). The message says what to fix.
 */
export class ToolchainError extends Error {
  override readonly name = 'ToolchainError';
  readonly code: ToolchainErrorCode;

  constructor(code: ToolchainErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Thrown when the embedded dev server or time-skipping test server does not start (a port already in use,
 * an unreadable database file, a binary that is not a Temporal executable). `cause` is the SDK's error.
 */
export class DevServerError extends Error {
  override readonly name = 'DevServerError';
  readonly code = 'server-start-failed';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What went wrong while registering custom search attributes. */
export type SearchAttributeErrorCode = 'type-conflict' | 'register-failed' | 'permission-denied';

/**
 * Thrown when a custom search attribute cannot be registered: the server already has one with the same
 * name but another type (`type-conflict`), the credentials may not use the OperatorService
 * (`permission-denied`), or the operator service refused the request otherwise (`register-failed`).
 */
export class SearchAttributeError extends Error {
  override readonly name = 'SearchAttributeError';
  readonly code: SearchAttributeErrorCode;

  constructor(code: SearchAttributeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Why this process cannot use its Temporal connection, in words that name the variables to check:
 * `tls-file-unreadable` while building the options (a TLS file the config names cannot be read; `cause` is the
 * file system's error), `refused` when the server answered but refused the credentials or the TLS handshake
 * failed (`cause` is the SDK's error). Neither gets better by waiting.
 */
export class TemporalConnectionError extends Error {
  override readonly name = 'TemporalConnectionError';
  readonly code: 'tls-file-unreadable' | 'refused';

  constructor(message: string, options?: { cause?: unknown; code?: 'tls-file-unreadable' | 'refused' }) {
    super(message, options);
    this.code = options?.code ?? 'tls-file-unreadable';
  }
}
