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

/**
 * Every error code restore-drill reports, with what it means: the one list
 * (a code not here is a type error). Codes are stable; messages say the detail.
 */
export const ERROR_CODES = {
  RD_USAGE: 'the command line asks for something that cannot be done as asked',
  RD_NO_ARCHIVE: 'an archive named does not exist, is not a file, or none was given',
  RD_EMPTY_SELECTION: 'the selection (--latest, --sample...) left no archive to drill',
  RD_UNKNOWN_PROFILE: 'no profile of that name is registered',
  RD_PROFILE_MISMATCH: 'the manifest is for another application than the profile asked for',
  RD_UNKNOWN_REPORTER: 'a --reporter names no reporter',
  RD_OUTPUT_PATH: 'a file to write (report, history, archive) cannot be written where it is named',
  RD_ARCHIVE_EXISTS: 'an archive to write exists already',
  RD_ARCHIVE_FORMAT: 'an archive is not of the kind the profile reads',
  RD_ARCHIVE_DAMAGED: 'an archive is of the right kind but cannot be read whole',
  RD_ARCHIVE_KEY: 'an archive lacks or carries a key it must not',
  RD_NO_VERSION: 'no application version is recorded or given',
  RD_VERSION_MISMATCH: 'the version given contradicts the one the backup records',
  RD_NO_BACKUP: 'the live system answered with no backup',
  RD_BACKUP_MISMATCH: 'a backup and its manifest do not describe the same state',
  RD_LOCATION: 'an archive location (s3://, restic:, rclone:) is not written in a form its source reads',
  RD_SOURCE: 'a source (object store, restic, rclone) failed in a way it did not name more closely',
  RD_SOURCE_CUT: 'a source closed the connection before the whole object arrived',
  RD_SOURCE_DENIED: 'a source refused the credentials or the access (403)',
  RD_SOURCE_NOT_FOUND: 'the object, snapshot, path or repository named does not exist at the source (404)',
  RD_SOURCE_PREFIX: 'a prefix or folder was named where one object is needed, or the other way round',
  RD_SOURCE_TOO_LARGE: 'an object is larger than the manifest or a limit allows',
  RD_ARCHIVE_MISMATCH: 'the bytes a source delivered are not the ones the manifest records',
  RD_MANIFEST_UNREADABLE: 'a manifest file cannot be read',
  RD_MANIFEST_INVALID: 'a manifest does not follow the schema',
  RD_MANIFEST_INCOMPLETE: "a manifest lacks what the profile's contract requires",
  RD_MANIFEST_UNSIGNED: "a manifest's signature is missing or does not verify",
  RD_MANIFEST_EXISTS: 'a manifest to write exists already',
  RD_SECRETS_UNREADABLE: 'a secrets file cannot be read',
  RD_SECRETS_INVALID: 'a secrets file is not one the application would accept',
  RD_KEY_UNREADABLE: 'a key file cannot be read',
  RD_KEY_INVALID: 'a key file holds no key of the kind asked for',
  RD_KEY_PUBLIC: 'a public key was given where a private one is needed',
  RD_KEY_PRIVATE: 'a private key was given where a public one is needed',
  RD_KEY_EXISTS: 'a key to write exists already',
  RD_REPORT_UNREADABLE: 'a report file cannot be read',
  RD_REPORT_INVALID: 'a report given to merge is not a shard report of restore-drill (run --shard I/N)',
  RD_MERGE_MISMATCH: 'the shard reports given to merge are not of one run, or report an archive twice',
  RD_REPORT_TO: 'a --report-to location is not one a report can be written to (a folder or s3://BUCKET/PREFIX/)',
  RD_HISTORY_INVALID: 'the history file or a history option cannot be used',
  RD_SOURCE_UNREACHABLE: 'the live system to back up, or an archive source, cannot be reached',
  RD_NO_PG_DUMP: "no pg_dump of the server's version is available",
  RD_PG_DUMP: 'pg_dump did not finish',
  RD_ENVIRONMENT: 'the machine cannot do what is needed',
  RD_NO_ENGINE: 'no container engine answers',
  RD_ENGINE_INSTALL: 'a container engine could not be installed',
  RD_CONTAINER_GONE: 'a container went away while the drill used it',
  RD_CONTAINER_COMMAND: 'a command in a container, or a file it should hold, was not what the drill needed',
  RD_IMAGE_BUILD: 'an application image could not be built',
  RD_IMAGE_LOAD: 'an image could not be copied onto an engine (save, load, push or pull), or arrived as another image',
  RD_IMAGE_MISSING: 'an image a drill needs is not present on this node, or is another image than expected; this worker never builds',
  RD_BASE_BUILD: 'the base image could not be built',
  RD_BASE_PULL: 'the base image could not be pulled',
  RD_WHEELHOUSE: "the application's packages could not be fetched",
  RD_TIMEOUT: 'a step took longer than it was allowed to',
  RD_DRILL_ENDED: 'the drill ended (timeout, deadline, signal) while a stage still ran',
  RD_UNREADABLE_DATA: 'data read from an archive or a restored system is not what its format allows',
  RD_INTERNAL: 'the harness broke one of its own rules: a bug, reported with its stack',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export class RestoreDrillError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  constructor(message: string, code: ErrorCode, exitCode: number, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** The user asked for something that cannot be done as asked. */
export class UsageError extends RestoreDrillError {
  constructor(message: string, code: ErrorCode = 'RD_USAGE', options?: ErrorOptions) {
    super(message, code, ExitCode.usage, options);
  }
}

/** The environment cannot do what is needed (no engine, no image, no network for a build). */
export class EnvironmentError extends RestoreDrillError {
  constructor(message: string, code: ErrorCode = 'RD_ENVIRONMENT', options?: ErrorOptions) {
    super(message, code, ExitCode.error, options);
  }
}

/** A step took longer than it was allowed to. */
export class TimeoutError extends RestoreDrillError {
  constructor(message: string, code: ErrorCode = 'RD_TIMEOUT', options?: ErrorOptions) {
    super(message, code, ExitCode.error, options);
  }
}

/** The harness could not finish a drill step: a container command, data that does not read as its format allows, a drill already ended. */
export class DrillError extends RestoreDrillError {
  constructor(message: string, code: ErrorCode, options?: ErrorOptions) {
    super(message, code, ExitCode.error, options);
  }
}

/** A rule of the harness's own was broken (a caller's mistake, not the user's): said with its stack. */
export class InternalError extends RestoreDrillError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'RD_INTERNAL', ExitCode.error, options);
  }
}

export function isRestoreDrillError(e: unknown): e is RestoreDrillError {
  return e instanceof RestoreDrillError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
