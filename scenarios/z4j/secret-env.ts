/**
 * secret.env as the installed z4j reads it (z4j_brain/secret_store.py, the same
 * in 1.8.0 and 1.13.0): each line stripped, blank and `#` lines skipped,
 * split at the first "=", key and value stripped; no `export ` prefix (the key
 * would be "export Z4J_SECRET", which z4j refuses) and no quote removal (quotes
 * are part of the value). The harness's reader is more forgiving; where the
 * two would read a line differently, z4j would refuse the file or sign and
 * verify with another key than the harness walks with, and the finding says
 * which line and why. Values are never quoted back.
 */
export function secretEnvDifferences(text: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  text.split(/\r\n|\n|\r/).forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq < 0) {
      out.push(`line ${n} has no "=": z4j refuses the whole file`);
      return;
    }
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (/^export\s/.test(key)) {
      out.push(`line ${n} starts with "export ": z4j reads the key as "${key.replace(/\s+/g, ' ')}" and refuses the file (remove the prefix)`);
      return;
    }
    if (seen.has(key)) out.push(`line ${n} repeats ${key}: z4j refuses a duplicate key`);
    seen.add(key);
    if (!value) out.push(`line ${n}: ${key} is empty: z4j refuses an empty value`);
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) {
      out.push(`line ${n}: ${key}'s value is in quotes: z4j keeps them as part of the value, the harness would strip them, so the two would use different keys (remove the quotes)`);
    }
  });
  return out;
}
