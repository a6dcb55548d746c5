/**
 * report.html's markup: header with provenance, the Table-1 summary (the same cells and marks as
 * summary.md, from src/eval/table.ts), the comparison against --baseline (src/eval/paired.ts) when
 * asked, one distribution plot per metric, and the sortable gallery.
 * Pure string assembly; style and script are inlined from page-style.ts and page-script.ts.
 */
import type { PairedGrid } from '../eval/paired.js';
import type { SummaryGrid } from '../eval/table.js';
import type { Gallery } from './gallery.js';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_STYLE } from './page-style.js';
import { methodColour } from './plots.js';

export interface ProvenanceRow {
  /** IR, VI or a method name. */
  name: string;
  dir: string;
  /** What made the folder's images, from its tesg-fuse.json; null when it has none. */
  method: string | null;
  weights: string | null;
  sig: string | null;
  note: string | null;
}

export interface ReportPage {
  title: string;
  caption: string;
  grid: SummaryGrid;
  /** With `tesg eval --baseline`: the paired comparison's caption and cells (src/eval/paired.ts). */
  paired?: { caption: string; grid: PairedGrid };
  /** Summary row names (IR/VI with --sources, then methods): the rows that have metric values. */
  rowNames: string[];
  sourceRows: boolean[];
  metrics: Array<{ name: string; higherIsBetter: boolean; description: string }>;
  plots: Array<{ metric: string; svg: string }>;
  gallery: Gallery;
  command: string;
  version: string;
  date: string;
  provenance: ProvenanceRow[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside <script>: no "</script>" or "<!--" can close or comment the block. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function summaryTable(p: ReportPage): string {
  const head = `<tr><th>Method</th>${p.grid.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = p.grid.cells.map((row, i) => {
    const cells = row.map(({ text, mark }) => `<td>${mark === 'best' ? `<b>${text}</b>` : mark === 'second' ? `<u>${text}</u>` : text}</td>`);
    const colour = `<span class="swatch" style="background:${methodColour(i)}"></span>`;
    return `<tr class="${p.sourceRows[i] ? 'source' : 'method'}"><td>${colour}${escapeHtml(p.grid.labels[i])}</td>${cells.join('')}</tr>`;
  });
  return `<table id="summary-table"><thead>${head}</thead><tbody>${body.join('')}</tbody></table>`;
}

function pairedSection(p: ReportPage): string {
  if (!p.paired) return '';
  const g = p.paired.grid;
  const head = `<tr><th>Method</th>${g.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = g.cells.map((row, i) => `<tr><td>${escapeHtml(g.labels[i])}</td>${row.map(({ text, mark }) => `<td${mark ? ` class="${mark}"` : ''}>${escapeHtml(text)}</td>`).join('')}</tr>`);
  return `<section id="paired"><h2>Image by image</h2><div class="card"><div class="scroll"><table id="paired-table"><thead>${head}</thead><tbody>${body.join('')}</tbody></table></div><p class="caption">${escapeHtml(p.paired.caption)}</p></div></section>\n`;
}

function plots(p: ReportPage): string {
  const desc = new Map(p.metrics.map((m) => [m.name, m.description]));
  return p.plots.map((pl) => `<figure data-metric="${escapeHtml(pl.metric)}">${pl.svg}<figcaption>${escapeHtml(desc.get(pl.metric) ?? '')}</figcaption></figure>`).join('\n');
}

function options(values: string[], selected?: string): string {
  return values.map((v) => `<option value="${escapeHtml(v)}"${v === selected ? ' selected' : ''}>${escapeHtml(v)}</option>`).join('');
}

function galleryTable(p: ReportPage): string {
  const g = p.gallery;
  // The colour of the column's row in the summary and the plots (IR/VI have one only with --sources).
  const colour = (name: string) => {
    const i = p.rowNames.indexOf(name);
    return i < 0 ? '' : `<span class="swatch" style="background:${methodColour(i)}"></span>`;
  };
  const head = `<tr><th class="stem">image<div id="key-header"></div></th>${g.columns.map((c) => `<th>${colour(c.name)}${escapeHtml(c.name)}</th>`).join('')}</tr>`;
  const body = g.rows.map((r) => {
    const cells = r.cells.map((c, i) => {
      const name = g.columns[i].name;
      const h = Math.round((c.height * g.thumbWidth) / c.width);
      return `<td><figure><img src="${c.thumb}" width="${g.thumbWidth}" height="${h}" loading="lazy" data-col="${i}" alt="${escapeHtml(`${name} ${r.stem}`)}" title="${escapeHtml(`${name} · ${r.stem} · click for full size`)}"><figcaption></figcaption></figure></td>`;
    });
    return `<tr data-stem="${escapeHtml(r.stem)}"><th class="stem">${escapeHtml(r.stem)}<div class="key"></div></th>${cells.join('')}</tr>`;
  });
  return `<table id="gallery"><thead>${head}</thead><tbody>${body.join('\n')}</tbody></table>`;
}

function provenance(p: ReportPage): string {
  const rows = p.provenance.map((r) => {
    const made = r.method === null ? '' : ` — <code>${escapeHtml(r.method)}</code>` +
      (r.weights ? `; weights <code>${escapeHtml(r.weights)}</code>` : '') + (r.sig ? `; SIG: ${escapeHtml(r.sig)}` : '');
    return `<dt>${escapeHtml(r.name)}</dt><dd><code>${escapeHtml(r.dir)}</code>${made}${r.note ? ` <i>(${escapeHtml(r.note)})</i>` : ''}</dd>`;
  });
  return `<dl class="meta" id="provenance">
<dt>command</dt><dd><code id="command">${escapeHtml(p.command)}</code></dd>
<dt>tesg</dt><dd id="version">${escapeHtml(p.version)}</dd>
<dt>date</dt><dd id="date">${escapeHtml(p.date)}</dd>
${rows.join('\n')}
</dl>`;
}

/** The whole page. */
export function renderPage(p: ReportPage): string {
  const data = {
    metrics: p.metrics.map((m) => ({ name: m.name, higherIsBetter: m.higherIsBetter })),
    columns: p.gallery.columns.map((c) => c.name),
    sourceColumns: p.gallery.columns.map((c) => c.source),
    rows: p.gallery.rows.map((r) => ({
      stem: r.stem,
      cells: r.cells.map((c) => ({ full: c.full, width: c.width, height: c.height })),
      // JSON has no NaN/Infinity: non-finite values become null ("–" in the page, sorted last).
      values: Object.fromEntries(Object.entries(r.values).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([m, x]) => [m, Number.isFinite(x) ? x : null]))])),
    })),
  };
  const methods = p.rowNames;
  const defaultA = methods.find((_, i) => !p.sourceRows[i]) ?? methods[0];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(p.title)}</h1>
<p class="sub">Written by <code>tesg eval --html</code>. Metrics as the CDDFuse evaluator computes them (src/metrics/); per-image values in per-image.csv beside this file.</p>
</header>
<section id="summary"><h2>Summary (Table 1)</h2><div class="card">${summaryTable(p)}<p class="caption">${escapeHtml(p.caption)}</p></div></section>
${pairedSection(p)}<section id="distributions"><h2>Distributions over images</h2><p class="sub" style="margin-bottom:8px">Per metric and method: the box spans the quartiles, whiskers reach the extreme images, the black bar is the median, the white diamond the mean (the table's number) and each thin tick one image.</p><div id="plots">
${plots(p)}
</div></section>
<section id="gallery-section"><h2>Gallery</h2>
<div class="controls">
<label>sort by <select id="sort-metric"><option value="">image name</option>${options(p.metrics.map((m) => m.name))}</select></label>
<label>of <select id="sort-a">${options(methods, defaultA)}</select></label>
<label>minus <select id="sort-b"><option value="">—</option>${options(methods)}</select></label>
<label>order <select id="sort-order"><option value="best">best first</option><option value="worst">worst first</option></select></label>
<button id="sort-reset" type="button">reset</button>
<span class="sub">Click an image to compare all columns at full size (wheel: zoom, drag: pan, double-click: fit, ←/→: previous/next image, Esc: close).</span>
</div>
${galleryTable(p)}
</section>
<section id="about"><h2>About this report</h2><div class="card">${provenance(p)}</div></section>
<div id="viewer" hidden><div class="bar"><span class="title" id="viewer-title"></span><button id="viewer-prev" type="button">← prev</button><button id="viewer-next" type="button">next →</button><span id="viewer-zoom"></span><span class="hint">wheel zoom · drag pan · double-click fit · Esc close</span><button id="viewer-close" type="button">close ✕</button></div><div class="panes"></div></div>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
