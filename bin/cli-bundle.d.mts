// Types for cli-bundle.mjs (plain JavaScript: it runs before any TypeScript loader).
export declare const PROJECT_ROOT: string;
export declare function cliBundle(options?: {
  root?: string;
  entry?: string;
  cacheDir?: string;
  say?: (line: string) => void;
}): Promise<{ url: string; built: boolean } | null>;
