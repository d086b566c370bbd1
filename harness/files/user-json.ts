/**
 * Deepest nesting of objects and arrays accepted in JSON a user supplies. What
 * restore-drill writes nests a few levels (a manifest 3, a report 5 plus its
 * checks' values); JSON nested thousands deep parses, but everything that
 * walks it afterwards (JSON.stringify, schema checks) recurses and dies with
 * a RangeError.
 */
export const MAX_JSON_DEPTH = 64;

export type UserJson = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * Parses JSON from a user's file, refusing, with the reason in words, text that
 * is not JSON or that nests deeper than `maxDepth`. The depth is measured before
 * parsing, so a hostile file never becomes a deep value.
 */
export function parseUserJson(text: string, maxDepth = MAX_JSON_DEPTH): UserJson {
  if (jsonDepthExceeds(text, maxDepth)) return { ok: false, reason: `it nests more than ${maxDepth} levels deep` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/** Whether brackets outside strings nest deeper than `max` (one pass, stops at the first level too deep). */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
