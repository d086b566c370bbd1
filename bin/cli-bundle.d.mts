// Types for cli-bundle.mjs (plain JavaScript: it runs before any TypeScript loader).
export declare const PROJECT_ROOT: string;
/** Why a bundle cannot be made or trusted (code RD_CLI_BUNDLE); caught by cliBundle, which says it. */
export declare class BundleError extends Error {
  code: 'RD_CLI_BUNDLE';
}
export declare function cliBundle(options?: {
  root?: string;
  entry?: string;
  cacheDir?: string;
  say?: (line: string) => void;
}): Promise<{ url: string; built: boolean } | null>;
