/**
 * `tesg eval --html` end to end: the real CLI fuses six pairs (crops of the two bundled samples) with
 * two classic methods and writes the report; headless Chromium (Debian's, driven by playwright-core
 * as in web-app.test.ts) opens it from disk and we check what a reader sees:
 *   - no console error, and no request outside the report's folder (every request is intercepted);
 *   - the summary table in the page is summary.md's table (cells, bold best, underlined second);
 *   - sorting by a metric, and by the difference of two methods, orders the gallery as per-image.csv;
 *   - the full-size viewer shows every column and zooms them together;
 *   - the provenance (command, version, what made each folder) is there.
 * A screenshot is kept in test-artifacts/. Skips only when chromium is not installed.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { ROOT, tesgOk } from './helpers/cli.js';

const CHROMIUM = process.env.TESG_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `chromium not installed at ${CHROMIUM} (apt-get install -y chromium, or set TESG_CHROMIUM)`;
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const TMP = mkdtempSync(path.join(os.tmpdir(), 'tesg-report-'));
const OUT = path.join(TMP, 'eval');

/** Six registered 320x240 pairs: three crops of each bundled sample, so the metrics differ per image. */
async function makePairs(): Promise<void> {
  const crops = { a: [0, 0], b: [160, 120], c: [320, 240] };
  for (const m of ['ir', 'vi']) {
    mkdirSync(path.join(TMP, m), { recursive: true });
    for (const stem of ['00537D', '01102N']) {
      for (const [tag, [left, top]] of Object.entries(crops)) {
        await sharp(path.join(ROOT, 'samples/msrs', m, `${stem}.png`)).extract({ left, top, width: 320, height: 240 }).png().toFile(path.join(TMP, m, `${stem}-${tag}.png`));
      }
    }
  }
}

/** per-image.csv as { method -> stem -> metric -> value }. */
function readCsv(file: string): Record<string, Record<string, Record<string, number>>> {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = head.split(',');
  const out: Record<string, Record<string, Record<string, number>>> = {};
  for (const line of lines) {
    const f = line.split(',');
    const values = Object.fromEntries(cols.slice(2).map((c, i) => [c, Number(f[i + 2])]));
    ((out[f[1]] ??= {})[f[0]] = values);
  }
  return out;
}

async function galleryStems(page: Page): Promise<string[]> {
  return page.$$eval('#gallery tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.stem ?? ''));
}

async function sortBy(page: Page, metric: string, a: string, b: string, order: 'best' | 'worst'): Promise<string[]> {
  await page.selectOption('#sort-metric', metric);
  await page.selectOption('#sort-a', a);
  await page.selectOption('#sort-b', b);
  await page.selectOption('#sort-order', order);
  await page.waitForFunction((k) => document.body.dataset.sorted === k, [metric, a, b, order].join('|'));
  return galleryStems(page);
}

describe('tesg eval --html (headless chromium)', { skip, timeout: 300_000 }, () => {
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const outside: string[] = [];
  const requested: string[] = [];

  before(async () => {
    await makePairs();
    for (const m of ['average', 'max']) await tesgOk('fuse', '--ir', path.join(TMP, 'ir'), '--vi', path.join(TMP, 'vi'), '--out', path.join(TMP, m), '--method', m);
    await tesgOk('eval', '--ir', path.join(TMP, 'ir'), '--vi', path.join(TMP, 'vi'), '--fused', `Average=${path.join(TMP, 'average')}`, '--fused', `Max=${path.join(TMP, 'max')}`,
      '--sources', '--out', OUT, '--workers', '1', '--html', '--baseline', 'Average');
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    const folder = pathToFileURL(OUT).href + '/';
    // Every request the page makes passes here: files inside the report's folder load, anything else is refused and recorded.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      requested.push(url);
      if (url.startsWith(folder)) return route.continue();
      outside.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(path.join(OUT, 'report.html')).href);
    await page.waitForFunction(() => document.body.dataset.sorted !== undefined);
    // Load every lazy thumbnail, so that all of the page's requests are made and checked.
    await page.evaluate(async () => {
      for (const img of Array.from(document.images)) img.loading = 'eager';
      await Promise.all(Array.from(document.images).map((img) => img.decode()));
    });
  });

  after(async () => {
    await browser?.close();
    rmSync(TMP, { recursive: true, force: true });
  });

  test('--baseline: the image-by-image table has the cells of summary.md, one row per other row', async () => {
    const rows = await page.$$eval('#paired-table tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
    assert.deepEqual(rows.map((r) => r[0]), ['IR', 'VI', 'Max']);
    const md = readFileSync(path.join(OUT, 'summary.md'), 'utf8');
    for (const r of rows) assert.ok(md.includes(`| ${r.join(' | ')} |`), `row ${r.join(' | ')} in summary.md`);
    assert.match((await page.textContent('#paired .caption')) ?? '', /^Against Average, image by image/);
  });

  test('the page loads its 24 thumbnails from report_files/, with no console error and no request outside its folder', async () => {
    const thumbs = requested.filter((u) => u.includes('/report_files/') && u.includes('/thumb/'));
    assert.equal(thumbs.length, 6 * 4, '6 images x (IR, VI, Average, Max)');
    assert.ok(await page.$$eval('#gallery img', (imgs) => imgs.every((i) => (i as HTMLImageElement).naturalWidth > 0)), 'every thumbnail decoded');
    assert.deepEqual(outside, []);
    assert.deepEqual(errors, []);
    assert.doesNotMatch(readFileSync(path.join(OUT, 'report.html'), 'utf8'), /(src|href)="(https?:)?\/\//, 'no network URL in the markup');
    // The interception is live: an image from beside the folder would have been caught.
    await page.evaluate(() => { const img = new Image(); img.src = '../elsewhere.png'; document.body.append(img); });
    await page.waitForFunction(() => document.querySelector<HTMLImageElement>('img[src="../elsewhere.png"]')?.complete);
    assert.deepEqual(outside, [pathToFileURL(path.join(TMP, 'elsewhere.png')).href]);
    await page.evaluate(() => document.querySelector('img[src="../elsewhere.png"]')?.remove());
    outside.length = 0;
    errors.length = 0; // the refused request's own console message
  });

  test('the summary table in the page is summary.md\'s', async () => {
    const md = readFileSync(path.join(OUT, 'summary.md'), 'utf8');
    const mdTable = md.split('\n\n')[1].split('\n').filter((l) => l.startsWith('|') && !l.startsWith('|---')); // the first table; the --baseline one follows
    const shown = await page.$$eval('#summary-table tr', (trs) =>
      trs.map((tr) => Array.from(tr.children).map((c) => c.innerHTML.replace(/<span class="swatch"[^>]*><\/span>/, '').replace(/<b>(.*?)<\/b>/, '**$1**'))),
    );
    const asMarkdown = shown.map((cells) => `| ${cells.join(' | ')} |`);
    assert.equal(asMarkdown.length, 1 + 4, 'header + IR, VI, Average, Max');
    assert.deepEqual(asMarkdown, mdTable);
    assert.ok(asMarkdown.some((l) => l.includes('**')) && asMarkdown.some((l) => l.includes('<u>')), 'best and second are marked');
    // One distribution plot (inline SVG from Vega) per metric column.
    assert.equal(await page.$$eval('#plots figure > svg', (svgs) => svgs.length), shown[0].length - 1);
    const caption = await page.textContent('#summary .caption');
    assert.equal(caption, md.split('\n')[0]);
  });

  test('sorting by a metric, or by the difference of two methods, orders the gallery rows by per-image.csv', async () => {
    const csv = readCsv(path.join(OUT, 'per-image.csv'));
    const stems = Object.keys(csv.Max).sort();
    assert.deepEqual(await galleryStems(page), stems, 'by name at first');
    const byValue = (key: (s: string) => number, descending: boolean) => [...stems].sort((x, y) => (descending ? key(y) - key(x) : key(x) - key(y)));
    // EN (higher is better), best first: descending.
    assert.deepEqual(await sortBy(page, 'EN', 'Max', '', 'best'), byValue((s) => csv.Max[s].EN, true));
    // MSE (lower is better), best first: ascending.
    assert.deepEqual(await sortBy(page, 'MSE', 'Average', '', 'best'), byValue((s) => csv.Average[s].MSE, false));
    // SD of Average minus Max, worst first: ascending difference.
    const diff = await sortBy(page, 'SD', 'Average', 'Max', 'worst');
    assert.deepEqual(diff, byValue((s) => csv.Average[s].SD - csv.Max[s].SD, false));
    assert.notDeepEqual(diff, stems, 'the check is not vacuous: the order changed');
    // The sort value shown beside each stem is the CSV's.
    const first = await page.textContent('#gallery tbody tr:first-child .key');
    assert.ok(Math.abs(Number(first) - (csv.Average[diff[0]].SD - csv.Max[diff[0]].SD)) < 1e-3, `${first}`);
    await sortBy(page, 'VIF', 'Max', '', 'best');
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-html.png'), fullPage: true });
  });

  test('the viewer shows every column at full size and zooms them together', async () => {
    await page.click('#gallery tbody tr:first-child img[data-col="3"]');
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('#viewer img')).every((i) => i.complete && i.naturalWidth > 0));
    const sizes = await page.$$eval('#viewer img', (imgs) => imgs.map((i) => [(i as HTMLImageElement).naturalWidth, (i as HTMLImageElement).naturalHeight]));
    assert.deepEqual(sizes, Array(4).fill([320, 240]));
    const before = await page.$$eval('#viewer img', (imgs) => imgs.map((i) => (i as HTMLElement).style.transform));
    const frame = (await page.$('#viewer .frame'))!;
    const box = (await frame.boundingBox())!;
    await page.mouse.move(box.x + box.width / 3, box.y + box.height / 3);
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -200);
    await page.waitForFunction((b) => (document.querySelector('#viewer img') as HTMLElement).style.transform !== b, before[0]);
    const transforms = await page.$$eval('#viewer img', (imgs) => imgs.map((i) => (i as HTMLElement).style.transform));
    assert.equal(new Set(transforms).size, 1, `one transform for every pane: ${transforms.join(' / ')}`);
    const scale = (t: string) => Number(/scale\(([\d.]+)\)/.exec(t)![1]);
    assert.ok(scale(transforms[0]) > 1.5 * scale(before[0]), `zoomed in: ${before[0]} -> ${transforms[0]}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-html-viewer.png') });
    await page.keyboard.press('Escape');
    assert.equal(await page.isVisible('#viewer'), false);
    assert.deepEqual(outside, []);
    assert.deepEqual(errors, []);
  });

  test('the report records the command line, tesg version, date and what made each folder', async () => {
    const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    assert.match((await page.textContent('#command')) ?? '', /^tesg eval --ir .* --html --baseline Average$/);
    assert.equal(await page.textContent('#version'), version);
    assert.match((await page.textContent('#date')) ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    const about = (await page.textContent('#provenance')) ?? '';
    assert.match(about, /Average.*tesg fuse --method average/);
    assert.match(about, /Max.*tesg fuse --method max/);
  });
});

test('a damaged tesg-fuse.json costs only its provenance row: eval --html still writes the report and says why', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tesg-report-bad-manifest-'));
  try {
    const fused = path.join(dir, 'max');
    await tesgOk('fuse', '--ir', path.join(ROOT, 'samples/msrs/ir'), '--vi', path.join(ROOT, 'samples/msrs/vi'), '--out', fused, '--method', 'max');
    writeFileSync(path.join(fused, 'tesg-fuse.json'), '{"runs": [ truncated');
    await tesgOk('eval', '--ir', path.join(ROOT, 'samples/msrs/ir'), '--vi', path.join(ROOT, 'samples/msrs/vi'),
      '--fused', `Max=${fused}`, '--metrics', 'EN,SD', '--out', path.join(dir, 'eval'), '--workers', '1', '--html');
    const page = readFileSync(path.join(dir, 'eval', 'report.html'), 'utf8');
    assert.match(page, /provenance not read: [^<]*tesg-fuse\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
