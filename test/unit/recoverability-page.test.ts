import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { main } from '../../harness/cli.ts';
import { ExitCode } from '../../harness/errors.ts';
import { History } from '../../harness/history/store.ts';
import { families } from '../../harness/history/families.ts';
import { renderRecoverabilityPage } from '../../harness/report/recoverability.ts';
import type { DrillReport } from '../../harness/model/types.ts';
import { ensureChromium } from '../helpers/chromium.ts';
import { PNG_MAGIC } from '../helpers/png.ts';

// Debian's chromium (installed by ensureChromium when missing): the only reason this test may skip, and it says so.
let executablePath = '';
let noBrowser: string | undefined;
try {
  executablePath = ensureChromium();
} catch (e) {
  noBrowser = `the recoverability page browser test is skipped: ${(e as Error).message}`;
  console.warn(noBrowser);
}

const DAY = 86_400_000;
// The history command judges windows against the clock, so the drills are placed relative to it (whole minutes, for the texts below).
const NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

function drill(archive: string, verdict: DrillReport['verdict'], daysAgo: number, restoreMs: number, summary: string): DrillReport {
  const finished = new Date(NOW.getTime() - daysAgo * DAY);
  return {
    drillId: `d-${archive.split('/').pop()}-${daysAgo}`, profile: 'z4j', archive: { path: archive, file: archive.split('/').pop()! }, verdict, summary,
    stages: [{ name: 'restore', status: verdict === 'error' ? 'error' : 'passed', durationMs: restoreMs }], checks: [],
    startedAt: new Date(finished.getTime() - restoreMs - 20_000).toISOString(), finishedAt: finished.toISOString(), durationMs: restoreMs + 20_000,
  };
}

/** Pixels of a canvas that are exactly this colour: a verdict's points were drawn. */
async function pixelsOf(page: Page, selector: string, rgb: [number, number, number]): Promise<number> {
  return page.$eval(
    selector,
    (canvas, [r, g, b]) => {
      // Runs in the page: DOM types are not in this project's (Node) lib.
      const c = canvas as unknown as { width: number; height: number; getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] === r && d[i + 1] === g && d[i + 2] === b && d[i + 3] === 255) n++;
      return n;
    },
    rgb,
  );
}

describe.skipIf(noBrowser)('history --html: the recoverability page in a real browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-page-'));
  const nightly = join(dir, 'nightly');
  const weekly = join(dir, 'weekly');
  const hist = join(dir, 'history.sqlite');
  const pagePath = join(dir, 'site', 'recoverability.html');
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    mkdirSync(nightly);
    mkdirSync(weekly);
    mkdirSync(join(dir, 'reports'));
    for (const f of ['n1.db', 'n2.db', 'n3.db', 'n4.db']) writeFileSync(join(nightly, f), 'archive');
    writeFileSync(join(weekly, 'w1.db'), 'not drillable: no manifest beside it');
    // The nightly family: passed, failed and error drills over two weeks, each run with its report.
    const h = History.open(hist);
    const drills = [
      drill(join(nightly, 'n1.db'), 'passed', 13, 41_000, 'all checks passed'),
      drill(join(nightly, 'n1.db'), 'passed', 11, 44_000, 'all checks passed'),
      drill(join(nightly, 'n2.db'), 'failed', 9, 47_000, 'compare: count.users expected 3, observed 2'),
      drill(join(nightly, 'n2.db'), 'passed', 8, 52_000, 'all checks passed'),
      drill(join(nightly, 'n3.db'), 'error', 5, 30_000, 'restore: timed out in stage restore'),
      drill(join(nightly, 'n3.db'), 'passed', 3, 58_000, 'all checks passed'),
      drill(join(nightly, 'n4.db'), 'failed', 1, 61_000, 'compare: chain head differs <script>alert(1)</script>'),
    ];
    for (const d of drills) {
      h.record(d);
      const report = join(dir, 'reports', `${d.drillId}.html`);
      writeFileSync(report, `<!doctype html><title>${d.drillId}</title><p>report of ${d.drillId}</p>`);
      h.recordReport([d.drillId], report);
    }
    h.close();
    // The weekly family through the real CLI: an archive without a manifest is an `error`, and its HTML report is linked.
    vi.stubEnv('DOCKER_HOST', 'tcp://127.0.0.1:1');
    const quiet = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const quietErr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['node', 'restore-drill', 'run', '--profile', 'z4j', '--history', hist, '--reporter', `html=${join(dir, 'site', 'weekly.html')}`, weekly])).toBe(ExitCode.error);
      expect(await main(['node', 'restore-drill', 'history', '--history', hist, '--since', '30d', '--max-age', '7d', '--html', pagePath])).toBe(ExitCode.passed);
    } finally {
      quiet.mockRestore();
      quietErr.mockRestore();
      vi.unstubAllEnvs();
    }
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('draws a plot per family and every drill row, links each drill to its report, and fetches nothing', async () => {
    await page.goto(pathToFileURL(pagePath).href);
    await page.waitForSelector('body[data-drawn="true"]', { timeout: 10_000 });
    // The page itself, and not one request more: uPlot is inside the file.
    expect(requests).toEqual([pathToFileURL(pagePath).href]);
    const html = readFileSync(pagePath, 'utf8');
    // uPlot's licence banner names its home; nothing else in the file names a place on the network.
    expect(html.replace('/*! https://github.com/leeoniya/uPlot (v', '')).not.toMatch(/<link|\bsrc=|url\(|https?:/);

    const cards = page.locator('section.family');
    expect(await cards.count()).toBe(2);
    const nightlyCard = cards.filter({ hasText: nightly });
    const weeklyCard = cards.filter({ hasText: weekly });
    // Rows: every drill in the window, newest first, with its verdict.
    expect(await nightlyCard.locator('tr.drill').count()).toBe(7);
    expect(await nightlyCard.locator('tr.drill.passed').count()).toBe(4);
    expect(await nightlyCard.locator('tr.drill.failed').count()).toBe(2);
    expect(await nightlyCard.locator('tr.drill.error').count()).toBe(1);
    expect(await nightlyCard.locator('tr.drill').first().innerText()).toContain('n4.db');
    // A summary is text, never markup.
    expect(await nightlyCard.locator('tr.drill').first().innerText()).toContain('<script>alert(1)</script>');
    expect(await nightlyCard.locator('.rate').innerText()).toBe('57.1%');
    expect(await nightlyCard.locator('.stat').first().innerText()).toContain(ago(3).slice(0, 16).replace('T', ' '));
    // Gaps: n4 never passed; n1 and n2 last passed more than 7 days ago; n3 passed 3 days ago.
    expect(await nightlyCard.locator('.gap-count').innerText()).toBe('3');
    const gaps = await nightlyCard.locator('ul.gaps li').allInnerTexts();
    expect(gaps).toEqual([`${join(nightly, 'n4.db')}: never passed a drill`, `${join(nightly, 'n2.db')}: last passed ${ago(8)}`, `${join(nightly, 'n1.db')}: last passed ${ago(11)}`]);
    expect(await weeklyCard.locator('tr.drill.error').count()).toBe(1);
    expect(await weeklyCard.locator('.stat').first().innerText()).toContain('never');

    // The plot: uPlot's canvas, with points in each verdict's colour and its legend.
    expect(await nightlyCard.locator('.plot').getAttribute('data-points')).toBe('7');
    const canvas = '#plot-0 canvas';
    expect(await pixelsOf(page, canvas, [0x13, 0x79, 0x5b])).toBeGreaterThan(20); // passed
    expect(await pixelsOf(page, canvas, [0xb4, 0x23, 0x18])).toBeGreaterThan(20); // failed
    expect(await pixelsOf(page, canvas, [0xb5, 0x47, 0x08])).toBeGreaterThan(20); // error
    expect(await pixelsOf(page, canvas, [0x17, 0x5c, 0xd3])).toBeGreaterThan(20); // the restore-time line
    const legend = await nightlyCard.locator('.u-legend').innerText();
    for (const s of ['restore (passed drills), s', 'drill total, failed', 'drill total, error']) expect(legend).toContain(s);
    expect(legend).not.toContain('budget');

    // Links: each drill's report, relative to the page, and the file is there.
    const hrefs = await nightlyCard.locator('tr.drill a').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
    expect(hrefs).toHaveLength(7);
    for (const href of hrefs) expect(statSync(new URL(href)).isFile()).toBe(true);
    // Outside the page's folder: an absolute file URL; beside it: relative, so page and report move together.
    expect(await nightlyCard.locator('tr.drill a').first().getAttribute('href')).toBe(pathToFileURL(join(dir, 'reports', 'd-n4.db-1.html')).href);
    expect(await weeklyCard.locator('tr.drill a').getAttribute('href')).toBe('weekly.html');
    expect(statSync(join(dir, 'site', 'weekly.html')).isFile()).toBe(true);
    await nightlyCard.locator('tr.drill a').first().click();
    await page.waitForURL(/d-n4\.db-1\.html$/);
    expect(await page.locator('p').innerText()).toBe('report of d-n4.db-1');

    // The screenshot a reader would see (README: docs/recoverability.png).
    await page.goto(pathToFileURL(pagePath).href);
    await page.waitForSelector('body[data-drawn="true"]');
    const shots = resolve('out/test-screenshots');
    mkdirSync(shots, { recursive: true });
    const png = join(shots, 'recoverability.png');
    await page.screenshot({ path: png, fullPage: true });
    expect(readFileSync(png).subarray(0, 8)).toEqual(PNG_MAGIC);
    expect(statSync(png).size).toBeGreaterThan(20_000);
  });

  it('draws the budget line where a family has one recorded', async () => {
    const h = History.open(hist);
    const fams = families(h, { since: new Date(NOW.getTime() - 30 * DAY), maxAgeMs: 7 * DAY, now: NOW });
    h.close();
    const budgeted = join(dir, 'budget.html');
    writeFileSync(budgeted, renderRecoverabilityPage({ generatedAt: NOW.toISOString(), since: '30d', maxAge: '7d', toolVersion: 'test', families: fams.map((f) => ({ ...f, budgetMs: 55_000 })) }, budgeted));
    await page.goto(pathToFileURL(budgeted).href);
    await page.waitForSelector('body[data-drawn="true"]');
    expect(await page.locator('section.family').first().locator('.u-legend').innerText()).toContain('budget');
    expect(await page.locator('section.family').first().locator('.stats').innerText()).toContain('restore budget 55 s');
    expect(await pixelsOf(page, '#plot-0 canvas', [0x66, 0x70, 0x85])).toBeGreaterThan(20); // the dashed budget line
  });
});
