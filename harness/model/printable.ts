/**
 * A name or a quoted text as it may be printed: control characters (a newline,
 * a carriage return, an escape sequence) shown as \n, \r, \x1b..., so a file
 * named "x\nFAILED y.db" prints as one line and cannot fake a verdict line.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
