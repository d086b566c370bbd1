import { createHash } from 'node:crypto';
import { copyFileSync, chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageRecipe } from '../../harness/images/index.ts';

const DOCKERFILE = new URL('../../docker/hiveloom/Dockerfile', import.meta.url);
export const BINARY_ENV = 'RESTORE_DRILL_HIVELOOM_BINARY';
/** An image holding what the supplied binary needs, to build FROM instead of restore-drill's base. */
export const BASE_ENV = 'RESTORE_DRILL_HIVELOOM_BASE';

/**
 * Where the Hiveloom binary for a version comes from. Hiveloom is on no
 * registry these hosts reach, so the user supplies it.
 */
export interface HiveloomBinarySource {
  /** Path of the binary for a version, or undefined when none was supplied. */
  binary(version: string): string | undefined;
  /** An image to build FROM instead of restore-drill's base (one holding what the binary needs). */
  base?: string;
}

/**
 * From $RESTORE_DRILL_HIVELOOM_BINARY: a binary (used for any version; the
 * drill checks `hiveloom version`), or a folder holding `hiveloom-<version>`
 * or `<version>/hiveloom`; $RESTORE_DRILL_HIVELOOM_BASE, when set, names the
 * image it is built on (one holding the libraries or runtime the binary needs).
 */
export function envBinarySource(env: NodeJS.ProcessEnv = process.env): HiveloomBinarySource {
  const base = env[BASE_ENV]?.trim();
  return {
    ...(base ? { base } : {}),
    binary(version) {
      const p = env[BINARY_ENV];
      if (!p || !existsSync(p)) return undefined;
      if (statSync(p).isFile()) return p;
      for (const cand of [join(p, `hiveloom-${version}`), join(p, version, 'hiveloom')]) if (existsSync(cand)) return cand;
      return undefined;
    },
  };
}

/** What the image's `hiveloom` says when no binary was supplied: the drill reports it as an error. */
const PLACEHOLDER = (version: string) => `#!/bin/sh
echo "restore-drill: no Hiveloom ${version} binary was supplied: set ${BINARY_ENV} to the hiveloom binary (or a folder of hiveloom-<version> binaries) and drill again" >&2
exit 127
`;

/**
 * The image for one Hiveloom version: docker/hiveloom/Dockerfile with the
 * supplied binary copied in. The binary's sha256 is part of the recipe, so a
 * different binary is a different image. Without a binary the image holds a
 * placeholder that fails every command (so `setup` still works and a drill
 * ends `error`, saying what to supply).
 */
export function hiveloomImage(version: string, source: HiveloomBinarySource = envBinarySource()): ImageRecipe {
  const bin = source.binary(version);
  const digest = bin ? createHash('sha256').update(readFileSync(bin)).digest('hex') : 'none';
  return {
    name: 'hiveloom',
    version,
    dockerfile: readFileSync(DOCKERFILE, 'utf8'),
    buildArgs: { HIVELOOM_VERSION: version, ...(source.base ? { BASE: source.base } : {}) },
    inputs: { binarySha256: digest },
    labels: { 'io.restore-drill.app': 'hiveloom', 'io.restore-drill.app-version': version, 'io.restore-drill.hiveloom-binary-sha256': digest },
    async prepareContext(dir) {
      const target = join(dir, 'hiveloom');
      if (bin) copyFileSync(bin, target);
      else writeFileSync(target, PLACEHOLDER(version));
      chmodSync(target, 0o755);
    },
  };
}
