/**
 * What may be printed of a location: user:password@ in any URL inside it is
 * masked, a query string (where presigned URLs and tokens live) is dropped,
 * and control characters are escaped so a name cannot rewrite the terminal.
 */
export function safeDisplay(location: string): string {
  return escapeControl(location.replace(/(\/\/)[^/@\s]*@/g, '$1***@').replace(/\?\S*/g, '?…'));
}

export function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The last path segment: what reports call the archive. */
export function lastSegment(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
