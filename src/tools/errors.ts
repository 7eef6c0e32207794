/** What went wrong while finding, installing or running a checker tool. */
export type ToolErrorCode = 'explicit-path-invalid' | 'install-failed' | 'not-found' | 'run-failed';

/**
 * Thrown when a tool from the cache (`.tools/`) or from npm cannot be had or did not run: an explicit path
 * that points at nothing (`explicit-path-invalid`), a `go install` that failed (`install-failed`), no binary
 * for this platform (`not-found`), or a run that ended without a usable report (`run-failed`). The message
 * says what to fix; `cause` carries the underlying error when there is one.
 */
export class ToolError extends Error {
  override readonly name = 'ToolError';
  readonly code: ToolErrorCode;

  constructor(code: ToolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
