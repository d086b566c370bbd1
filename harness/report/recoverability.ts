import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Family, PageDrill } from '../history/families.ts';
import { htmlEscape as h } from './write.ts';

export interface RecoverabilityPage {
  generatedAt: string;
  /** The window the pass rates and plots cover, as given (e.g. 30d). */
  since: string;
  /** How recent a passed drill must be for an archive to be covered, as given (e.g. 7d). */
  maxAge: string;
  toolVersion: string;
  families: Family[];
}

/**
 * The charting library, read from node_modules when the page is written and
 * put into it whole, so the page fetches nothing when it is opened (offline,
 * from a mail attachment, on an air-gapped host). uPlot: about 50 KB, MIT.
 */
function uplotAssets(): { js: string; css: string } {
  const req = createRequire(import.meta.url);
  return {
    js: readFileSync(req.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(req.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
}

/** JSON inside a <script>: "<" escaped, so no text in it can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A link to a report: relative when it lies in the page's folder or below (the two move together), else an absolute file URL. */
function reportHref(report: string, pagePath: string): string {
  if (!isAbsolute(report)) return report;
  const rel = relative(dirname(pagePath), report);
  return rel.startsWith('..') ? pathToFileURL(report).href : rel.split('/').map(encodeURIComponent).join('/');
}

const STYLE = `
:root{--ok:#13795b;--bad:#b42318;--err:#b54708;--ink:#1d2939;--mute:#667085;--line:#e4e7ec;--bg:#f8fafc}
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{padding:24px 40px;background:#101828;color:#fff}header h1{margin:0;font-size:22px;font-weight:600}header p{margin:6px 0 0;color:#d0d5dd}
main{padding:24px 40px;max-width:1240px}.card{background:#fff;border:1px solid var(--line);border-radius:10px;margin:0 0 24px;overflow:hidden}
.card>h2{margin:0;padding:14px 20px;font-size:16px;border-bottom:1px solid var(--line);display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.card>h2 code{font-size:13px;color:var(--mute);font-weight:400}
.stats{display:grid;grid-template-columns:repeat(3,1fr);border-bottom:1px solid var(--line)}.stat{padding:12px 20px;border-right:1px solid var(--line)}.stat:last-child{border-right:0}
.stat b{display:block;font-size:20px}.stat span{color:var(--mute);font-size:12px}.stat.bad b{color:var(--bad)}.stat.ok b{color:var(--ok)}
.gaps{margin:0;padding:10px 20px 10px 36px;background:#fef3f2;color:var(--bad);border-bottom:1px solid var(--line)}.gaps.none{list-style:none;padding-left:20px;background:#ecfdf3;color:var(--ok)}
.plot{padding:12px 20px;border-bottom:1px solid var(--line);min-height:60px}.plot .empty{color:var(--mute)}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:11px;font-weight:600;text-transform:uppercase;color:#fff}
.badge.passed{background:var(--ok)}.badge.failed{background:var(--bad)}.badge.error{background:var(--err)}
table{width:100%;border-collapse:collapse;font-size:13px}th,td{text-align:left;padding:6px 12px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f2f4f7;color:var(--mute);font-weight:600}td.n,td.t,td.a{white-space:nowrap}td.n{text-align:right}
.gaps details{margin:2px 0 0 -16px}.gaps summary{cursor:pointer}.gaps details ul{margin:0;padding-left:16px}tr.failed td{background:#fffbfa}tr.error td{background:#fffcf5}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}footer{padding:0 40px 40px;color:var(--mute);font-size:12px}`;

/** The plot: recovery time per drill over time, by verdict, with the budget where one is recorded. */
const DRAW = `
(function(){
  var data = JSON.parse(document.getElementById('rd-data').textContent);
  var colors = {passed:'#13795b', failed:'#b42318', error:'#b54708'};
  data.families.forEach(function(f, i){
    var el = document.getElementById('plot-' + i);
    var drills = f.drills.slice().reverse();
    if (drills.length === 0) { el.innerHTML = '<p class="empty">no drills in this window</p>'; return; }
    var xs = drills.map(function(d){ return Date.parse(d.finishedAt) / 1000; });
    var secs = function(ms){ return ms === null ? null : Math.round(ms) / 1000; };
    var restore = drills.map(function(d){ return d.verdict === 'passed' ? secs(d.restoreMs) : null; });
    var byVerdict = function(v){ return drills.map(function(d){ return d.verdict === v ? secs(d.durationMs) : null; }); };
    var none = function(){ return null; };
    var series = [{},
      {label:'restore (passed drills), s', stroke:'#175cd3', width:2, spanGaps:true, points:{size:6}},
      {label:'drill total, passed', stroke:colors.passed, paths:none, points:{show:true, size:8, fill:colors.passed}},
      {label:'drill total, failed', stroke:colors.failed, paths:none, points:{show:true, size:9, fill:colors.failed}},
      {label:'drill total, error', stroke:colors.error, paths:none, points:{show:true, size:9, fill:colors.error}}];
    var rows = [xs, restore, byVerdict('passed'), byVerdict('failed'), byVerdict('error')];
    if (f.budgetMs) {
      series.push({label:'budget', stroke:'#667085', dash:[6,4], width:1.5, points:{show:false}});
      rows.push(xs.map(function(){ return f.budgetMs / 1000; }));
    }
    var lo = xs[0], hi = xs[xs.length - 1], pad = hi - lo < 3600 ? 86400 : (hi - lo) * 0.03;
    var xRange = [lo - pad, hi + pad];
    el.setAttribute('data-points', String(drills.length));
    new uPlot({width: Math.max(480, el.clientWidth - 8), height: 240, series: series,
      legend:{live:false},
      // One drill, or several at one time: a day either side, so the axis reads as dates.
      scales:{x:{time:true, auto:false, range:function(){ return xRange; }},
        y:{range:function(u, min, max){ return [0, Math.max(1, max * 1.15)]; }}},
      axes:[{}, {label:'seconds', size:60}]}, rows, el);
  });
  document.body.setAttribute('data-drawn', 'true');
})();`;

export function renderRecoverabilityPage(page: RecoverabilityPage, pagePath: string): string {
  const { js, css } = uplotAssets();
  const link = (d: PageDrill): PageDrill => (d.report ? { ...d, report: reportHref(d.report, pagePath) } : d);
  const fams = page.families.map((f) => ({ ...f, drills: f.drills.map(link), ...(f.lastPassed ? { lastPassed: link(f.lastPassed) } : {}) }));
  const total = fams.reduce((n, f) => n + f.drills.length, 0);
  const passed = fams.reduce((n, f) => n + f.drills.filter((d) => d.verdict === 'passed').length, 0);
  const gaps = fams.reduce((n, f) => n + f.gaps.length, 0);
  // The only data the script reads: what each plot needs.
  const data = { families: fams.map((f) => ({ drills: f.drills.map((d) => ({ finishedAt: d.finishedAt, verdict: d.verdict, restoreMs: d.restoreMs, durationMs: d.durationMs })), ...(f.budgetMs ? { budgetMs: f.budgetMs } : {}) })) };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>restore-drill: recoverability</title><style>${css}</style><style>${STYLE}</style></head>
<body><header><h1>Recoverability</h1>
<p>${fams.length} backup ${fams.length === 1 ? 'family' : 'families'} · ${total} drills in the last ${h(page.since)}, ${total ? ((passed / total) * 100).toFixed(1) : '0.0'}% passed · ${gaps} archive${gaps === 1 ? '' : 's'} without a passed drill in the last ${h(page.maxAge)} · ${h(page.generatedAt)} · restore-drill ${h(page.toolVersion)}</p></header>
<main>${fams.length === 0 ? '<p>No drills recorded.</p>' : fams.map((f, i) => familyCard(f, i, page)).join('\n')}</main>
<footer>Generated by restore-drill history --html. Everything on this page is in this file: it fetches nothing. Coverage is judged by path here; <code>restore-drill history --coverage</code> judges each archive by its content.</footer>
<script type="application/json" id="rd-data">${scriptJson(data)}</script>
<script>${js.replace(/<\/script/gi, '<\\/script')}</script>
<script>${DRAW}</script>
</body></html>
`;
}

function familyCard(f: Family, i: number, page: RecoverabilityPage): string {
  const n = f.drills.length;
  const ok = f.drills.filter((d) => d.verdict === 'passed').length;
  const counts = (['passed', 'failed', 'error'] as const).map((v) => `${f.drills.filter((d) => d.verdict === v).length} ${v}`).join(', ');
  const last = f.lastPassed;
  return `<section class="card family" data-profile="${h(f.profile)}"><h2>${h(f.profile)} <code>${h(f.folder)}</code></h2>
<div class="stats">
<div class="stat ${last ? 'ok' : 'bad'}"><span>last passed drill</span><b>${last ? h(last.finishedAt.slice(0, 16).replace('T', ' ')) : 'never'}</b><span>${last ? `${h(last.file)}${last.report ? ` · ${reportLink(last)}` : ''}` : 'no drill of these archives has passed'}</span></div>
<div class="stat ${n > 0 && ok === n ? 'ok' : 'bad'}"><span>pass rate, last ${h(page.since)}</span><b class="rate">${n ? `${((ok / n) * 100).toFixed(1)}%` : '-'}</b><span>${n} drills: ${counts}</span></div>
<div class="stat ${f.gaps.length ? 'bad' : 'ok'}"><span>coverage gaps (no pass in ${h(page.maxAge)})</span><b class="gap-count">${f.gaps.length}</b><span>${f.budgetMs ? `restore budget ${(f.budgetMs / 1000).toFixed(0)} s` : 'no recovery-time budget recorded'}</span></div>
</div>
${f.gaps.length ? gapList(f.gaps) : '<ul class="gaps none"><li>every archive has a passed drill within ' + h(page.maxAge) + '</li></ul>'}
<div class="plot" id="plot-${i}"></div>
<table><thead><tr><th>finished</th><th>verdict</th><th>archive</th><th>restore</th><th>total</th><th>summary</th><th>report</th></tr></thead><tbody>
${f.drills.map(drillRow).join('\n')}
</tbody></table></section>`;
}

/** The gaps in reverse name order (dated names: the newest first); past the first few, folded (every one is in the page, one click away). */
function gapList(gaps: Family['gaps']): string {
  const item = (g: Family['gaps'][number]) => `<li><code>${h(g.archive)}</code>: ${h(g.why)}</li>`;
  const shown = [...gaps].reverse();
  const more = shown.slice(GAPS_SHOWN);
  return `<ul class="gaps">${shown.slice(0, GAPS_SHOWN).map(item).join('')}${more.length ? `<li class="more"><details><summary>${more.length} more</summary><ul>${more.map(item).join('')}</ul></details></li>` : ''}</ul>`;
}

const GAPS_SHOWN = 4;

function drillRow(d: PageDrill): string {
  return `<tr class="drill ${h(d.verdict)}" data-drill="${h(d.drillId)}"><td class="t">${h(d.finishedAt.slice(0, 19).replace('T', ' '))}</td><td><span class="badge ${h(d.verdict)}">${h(d.verdict)}</span></td><td class="a"><code>${h(d.file)}</code></td><td class="n">${d.restoreMs === null ? '-' : `${(d.restoreMs / 1000).toFixed(1)} s`}</td><td class="n">${(d.durationMs / 1000).toFixed(1)} s</td><td>${h(d.summary)}</td><td>${d.report ? reportLink(d) : '-'}</td></tr>`;
}

function reportLink(d: PageDrill): string {
  return `<a href="${h(d.report!)}">report</a>`;
}
