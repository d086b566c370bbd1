/**
 * Errors carry a stable code; only the CLI entry maps them to exit codes.
 * Expected failures print one line, unexpected ones print their stack.
 */

/** Exit codes, documented in the README. */
export const ExitCode = {
  /** Every drill passed. */
  passed: 0,
  /** At least one drill failed: a backup is not recoverable as expected. */
  failed: 1,
  /** Bad input: arguments, files, manifest, unknown profile. Nothing was started. */
  usage: 2,
  /** The harness could not finish a drill (engine, image, timeout, crash). */
  error: 3,
  /** Stopped by SIGINT or SIGTERM. */
  interrupted: 130,
} as const;

export class RestoreDrillError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(message: string, code: string, exitCode: number, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** The user asked for something that cannot be done as asked. */
export class UsageError extends RestoreDrillError {
  constructor(message: string, code = 'RD_USAGE', options?: ErrorOptions) {
    super(message, code, ExitCode.usage, options);
  }
}

/** The environment cannot do what is needed (no engine, no image, no network for a build). */
export class EnvironmentError extends RestoreDrillError {
  constructor(message: string, code = 'RD_ENVIRONMENT', options?: ErrorOptions) {
    super(message, code, ExitCode.error, options);
  }
}

/** A step took longer than it was allowed to. */
export class TimeoutError extends RestoreDrillError {
  constructor(message: string, code = 'RD_TIMEOUT', options?: ErrorOptions) {
    super(message, code, ExitCode.error, options);
  }
}

export function isRestoreDrillError(e: unknown): e is RestoreDrillError {
  return e instanceof RestoreDrillError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
