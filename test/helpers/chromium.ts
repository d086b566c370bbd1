import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM = '/usr/bin/chromium';

/** Debian's chromium, installed when missing (root on Debian), else an error saying what is missing. */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (process.getuid?.() !== 0 || !existsSync('/etc/debian_version')) {
    throw new Error(`${CHROMIUM} is missing and this is not a Debian host run as root: install Debian's chromium package`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', 'chromium']]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status})`);
  }
  return CHROMIUM;
}

/** Renders a local file headless and saves a PNG; the closed network needs the background features off. */
export function screenshot(file: string, png: string, size = '1280,1600'): void {
  const r = spawnSync(
    ensureChromium(),
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${mkdtempSync(join(tmpdir(), 'rd-chromium-'))}`,
      `--window-size=${size}`,
      `--screenshot=${png}`,
      `file://${file}`,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0) throw new Error(`chromium failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
}

/** Text of a page as the browser laid it out (what a reader sees). */
export function renderedText(file: string): string {
  const r = spawnSync(
    ensureChromium(),
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${mkdtempSync(join(tmpdir(), 'rd-chromium-'))}`, '--dump-dom', `file://${file}`],
    { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 },
  );
  if (r.status !== 0) throw new Error(`chromium failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
  return r.stdout;
}
