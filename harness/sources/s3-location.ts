import { UsageError } from '../errors.ts';
import { escapeControl } from './display.ts';

/** `s3://BUCKET/KEY` (one object) or `s3://BUCKET/PREFIX/`, `s3://BUCKET` (a selection, like a folder). */
export interface S3Location {
  bucket: string;
  /** The key, or the prefix ('' for the bucket's top) when `prefix`. */
  key: string;
  prefix: boolean;
}

export function isS3Location(location: string): boolean {
  return location.startsWith('s3://');
}

/**
 * Parses the location exactly as written: keys are not percent-decoded (S3
 * keys may hold `%`, `?`, `#`). Credentials never belong in it: a user:secret@
 * part is refused without echoing it, so they come from the AWS configuration.
 */
export function parseS3Location(location: string): S3Location {
  if (!isS3Location(location)) throw new UsageError(`${escapeControl(location.slice(0, 80))}: not an s3:// location`, 'RD_LOCATION');
  const rest = location.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (bucket.includes('@')) {
    throw new UsageError('s3://…: credentials in the location are refused; they come from the AWS configuration (AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws)', 'RD_LOCATION');
  }
  // S3's own bucket rules, loosely: S3-compatible stores accept a little more (upper case, _).
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/.test(bucket)) {
    throw new UsageError(`${escapeControl(location)}: no valid bucket name after s3:// (expected s3://BUCKET/KEY or s3://BUCKET/PREFIX/)`, 'RD_LOCATION');
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new UsageError(`${escapeControl(location)}: control characters in the key`, 'RD_LOCATION');
  return { bucket, key, prefix: key === '' || key.endsWith('/') };
}

export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
