/**
 * `tesg eval` end to end on a small folder set built in a temp dir: 3 crops of the bundled MSRS pairs (160x120 to keep the test fast), a "Copy" method (copies of IR, PNG) and an "Avg" method (the gray
 * average, JPEG: extensions differ across folders). Checks the written values against direct metric
 * calls, the table's marks, the worker path under tsx, and the failure modes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { MismatchError, TesgError, UsageError } from '../src/errors.js';
import { readImage } from '../src/image/read.js';
import { toGray } from '../src/image/color.js';
import type { GrayImage } from '../src/image/types.js';
import { DEFAULT_METRIC_NAMES, findMetric } from '../src/metrics/index.js';
import { evaluateFolders, type EvalOptions } from '../src/eval/run.js';
import { formatValue } from '../src/eval/table.js';
import { assertOneLineError, ROOT, tesg } from './helpers/cli.js';

// The bundled sample pairs, so the test runs where ../shared is absent.
const MSRS = path.join(ROOT, 'samples', 'msrs');
// Three test pairs cut from the two bundled ones (different crops, their own stems).
const STEMS = ['00103D', '00107D', '00111D'];
const SOURCE: Record<string, { file: string; left: number; top: number }> = {
  '00103D': { file: '00537D.png', left: 200, top: 150 },
  '00107D': { file: '01102N.png', left: 200, top: 150 },
  '00111D': { file: '00537D.png', left: 40, top: 300 },
};
const crop = (stem: string) => ({ left: SOURCE[stem].left, top: SOURCE[stem].top, width: 160, height: 120 });

let tmp: string;
const dir = (...p: string[]) => path.join(tmp, ...p);
const gray = async (f: string): Promise<GrayImage> => toGray(await readImage(f));

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tesg-eval-'));
  for (const d of ['ir', 'vi', 'copy', 'avg']) await fs.mkdir(dir(d));
  for (const stem of STEMS) {
    await sharp(path.join(MSRS, 'ir', SOURCE[stem].file)).extract(crop(stem)).png().toFile(dir('ir', `${stem}.png`));
    await sharp(path.join(MSRS, 'vi', SOURCE[stem].file)).extract(crop(stem)).png().toFile(dir('vi', `${stem}.png`));
    await fs.copyFile(dir('ir', `${stem}.png`), dir('copy', `${stem}.png`));
    const [a, b] = await Promise.all([gray(dir('ir', `${stem}.png`)), gray(dir('vi', `${stem}.png`))]);
    const avg = Buffer.from(a.data.map((v, i) => Math.round((v + b.data[i]) / 2)));
    await sharp(avg, { raw: { width: a.width, height: a.height, channels: 1 } }).jpeg({ quality: 90 }).toFile(dir('avg', `${stem}.jpg`));
  }
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function options(extra: Partial<EvalOptions> = {}): EvalOptions {
  return {
    ir: dir('ir'),
    vi: dir('vi'),
    fused: [
      { name: 'Copy', dir: dir('copy') },
      { name: 'Avg', dir: dir('avg') },
    ],
    out: dir('out'),
    sources: true,
    workers: 1,
    progress: false,
    ...extra,
  };
}

const parseCell = (s: string) => (s === 'nan' ? NaN : s === 'inf' ? Infinity : Number(s));

test('per-image CSV/JSON equal direct metric calls; means and table marks follow', async () => {
  const r = await evaluateFolders(options());
  assert.deepEqual(r.methods, ['IR', 'VI', 'Copy', 'Avg']);
  assert.deepEqual(r.metrics, DEFAULT_METRIC_NAMES);
  assert.deepEqual(r.images.map((i) => i.stem), STEMS);

  const csv = (await fs.readFile(dir('out', 'per-image.csv'), 'utf8')).trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(csv[0], ['image', 'method', ...DEFAULT_METRIC_NAMES]);
  assert.equal(csv.length, 1 + STEMS.length * 4);
  const json = JSON.parse(await fs.readFile(dir('out', 'per-image.json'), 'utf8'));
  assert.equal(json.count, 3);

  const direct: Record<string, Record<string, number[]>> = {};
  for (const stem of STEMS) {
    const [ir, vi, copy, avg] = await Promise.all(
      [dir('ir', `${stem}.png`), dir('vi', `${stem}.png`), dir('copy', `${stem}.png`), dir('avg', `${stem}.jpg`)].map(gray),
    );
    const fusedOf: Record<string, GrayImage> = { IR: ir, VI: vi, Copy: copy, Avg: avg };
    for (const method of r.methods) {
      const line = csv.find((c) => c[0] === stem && c[1] === method);
      const entry = json.images.find((e: { image: string; method: string }) => e.image === stem && e.method === method);
      assert.ok(line && entry, `${stem}/${method} missing from the outputs`);
      DEFAULT_METRIC_NAMES.forEach((name, j) => {
        const want = findMetric(name)!.compute(fusedOf[method], ir, vi);
        const got = parseCell(line[2 + j]);
        assert.ok(Object.is(got, want), `${stem} ${method} ${name}: csv ${got} vs direct ${want}`);
        assert.equal(entry[name], Number.isFinite(want) ? want : null, `${stem} ${method} ${name} in JSON`);
        ((direct[method] ??= {})[name] ??= []).push(want);
      });
    }
  }
  // Copy = IR, so SCD's F - IR is constant: NaN, as numpy gives.
  assert.ok(Number.isNaN(r.images[0].rows.Copy.SCD));

  const tableLines = r.table.split('\n');
  const cells = (method: string) => tableLines.find((l) => l.startsWith(`| ${method} |`))!.split(' | ').slice(1);
  DEFAULT_METRIC_NAMES.forEach((name, j) => {
    const mean = (m: string) => direct[m][name].reduce((s, v) => s + v, 0) / STEMS.length;
    for (const m of r.methods) close(r.summary.find((row) => row.method === m)!.means[name], mean(m), name);
    // Only Copy and Avg are ranked (IR, VI are source rows): the better is bold, the other underlined.
    const [c, a] = [formatValue(mean('Copy')), formatValue(mean('Avg'))];
    const cellC = cells('Copy')[j].replace(/ \|$/, ''), cellA = cells('Avg')[j].replace(/ \|$/, '');
    assert.ok(!cells('IR (source)')[j].includes('**') && !cells('IR (source)')[j].includes('<u>'), `${name}: source row marked`);
    if (c === 'nan') return assert.equal(cellA, `**${a}**`, `${name}: the only number is best`);
    const up = findMetric(name)!.higherIsBetter;
    const copyBetter = up ? Number(c) > Number(a) : Number(c) < Number(a);
    if (c === a) assert.deepEqual([cellC, cellA], [`**${c}**`, `**${a}**`], name);
    else if (copyBetter) assert.deepEqual([cellC, cellA], [`**${c}**`, `<u>${a}</u>`], name);
    else assert.deepEqual([cellC, cellA], [`<u>${c}</u>`, `**${a}**`], name);
  });
  assert.match(await fs.readFile(dir('out', 'summary.md'), 'utf8'), /\| Avg \|/);
});

function close(a: number, b: number, what: string) {
  assert.ok(Object.is(a, b) || Math.abs(a - b) <= 1e-12 * Math.abs(b), `${what}: ${a} vs ${b}`);
}

test('CLI through tsx with 2 worker threads: same per-image CSV as the inline run, table on stdout', async () => {
  const inline = await evaluateFolders(options({ out: dir('out-inline') }));
  assert.equal(inline.workers, 1);
  const r = await tesg('eval',
    '--ir', dir('ir'), '--vi', dir('vi'), '--fused', `Copy=${dir('copy')}`, '--fused', `Avg=${dir('avg')}`,
    '--sources', '--workers', '2', '--out', dir('out-workers'),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\(2 workers\)/);
  assert.match(r.stdout, /^Mean over 3 image\(s\)/);
  assert.ok(r.stdout.includes(inline.table), 'the printed table is the inline one');
  assert.equal(
    await fs.readFile(dir('out-workers', 'per-image.csv'), 'utf8'),
    await fs.readFile(dir('out-inline', 'per-image.csv'), 'utf8'),
  );
});

test('missing fused file: the fused folder is named as lacking it, exit code 2; --allow-missing scores the rest and says what it skipped', async () => {
  await fs.cp(dir('avg'), dir('avg-missing'), { recursive: true });
  await fs.rm(dir('avg-missing', '00111D.jpg'));
  const args = ['--ir', dir('ir'), '--vi', dir('vi'), '--fused', `Avg=${dir('avg-missing')}`, '--metrics', 'EN,MSE', '--out', dir('out-missing')];
  const fail = await tesg('eval', ...args);
  assertOneLineError(fail, /^tesg: error: the fused folder Avg=\S*avg-missing lacks 00111D; add the missing files, or rerun with --allow-missing to score the 2 complete image\(s\)$/);
  assert.equal(fail.stderr.trim().split('\n').length, 1, fail.stderr);
  assert.doesNotMatch(fail.stderr, /ir: 00111D\.png/, 'the sources are not blamed for the fused folder\'s gap');
  await assert.rejects(fs.access(dir('out-missing')), 'nothing written on failure');

  const ok = await tesg('eval', ...args, '--allow-missing', '--workers', '1');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /^skipped: the fused folder Avg=\S*avg-missing lacks 00111D$/m);
  assert.doesNotMatch(ok.stderr, /without a partner/);
  assert.match(ok.stdout, /Mean over 2 image\(s\) \(1 skipped/);
  const json = JSON.parse(await fs.readFile(dir('out-missing', 'per-image.json'), 'utf8'));
  assert.equal(json.count, 2);
  assert.deepEqual(json.skipped.unmatched, {});
  assert.deepEqual(json.skipped.lacking, { Avg: ['00111D'] });
});

test('unreadable file: one error naming it; --allow-missing skips that image for every method', async () => {
  await fs.cp(dir('copy'), dir('copy-broken'), { recursive: true });
  const png = await fs.readFile(dir('copy', '00107D.png'));
  await fs.writeFile(dir('copy-broken', '00107D.png'), png.subarray(0, Math.floor(png.length / 2)));
  const o = options({ fused: [{ name: 'Copy', dir: dir('copy-broken') }, { name: 'Avg', dir: dir('avg') }], metrics: ['EN'], out: dir('out-broken') });
  await assert.rejects(evaluateFolders(o), (e: unknown) => {
    assert.ok(e instanceof TesgError);
    assert.match(e.message, /^1 image\(s\) could not be read: .*copy-broken\/00107D\.png: .*--allow-missing to score the 2 readable/);
    return true;
  });
  const r = await evaluateFolders({ ...o, allowMissing: true });
  assert.deepEqual(r.images.map((i) => i.stem), ['00103D', '00111D']);
  assert.equal(r.skipped.unreadable.length, 1);
  assert.equal(r.skipped.unreadable[0].stem, '00107D');
});

test('size mismatch within a triple: one MismatchError naming both files; with --allow-missing and every image mis-sized, nothing to score (worker path)', async () => {
  await fs.mkdir(dir('small'));
  for (const stem of STEMS) await sharp(dir('copy', `${stem}.png`)).resize(80, 60).png().toFile(dir('small', `${stem}.png`));
  const o = options({ fused: [{ name: 'Small', dir: dir('small') }], metrics: ['EN'], workers: 2, out: dir('out-small') });
  await assert.rejects(evaluateFolders(o), (e: unknown) => {
    assert.ok(e instanceof MismatchError);
    assert.match(e.message, /ir\/(\w+)\.png is 160x120 but .*small\/\1\.png is 80x60/);
    return true;
  });
  await assert.rejects(evaluateFolders({ ...o, allowMissing: true }), (e: unknown) => {
    assert.ok(e instanceof TesgError && !(e instanceof MismatchError));
    assert.match(e.message, /^no image could be scored: size mismatch: .*is 160x120 but .*is 80x60/);
    return true;
  });
  await assert.rejects(fs.access(dir('out-small')), 'nothing written on failure');
});

test('usage errors: reserved or repeated names, output into an input folder, unknown metric', async () => {
  await assert.rejects(evaluateFolders(options({ fused: [{ name: 'ir', dir: dir('copy') }] })), UsageError);
  await assert.rejects(evaluateFolders(options({ fused: [{ name: 'A', dir: dir('copy') }, { name: 'a', dir: dir('avg') }] })), /given twice/);
  await assert.rejects(evaluateFolders(options({ out: dir('copy') })), /is an input folder/);
  await assert.rejects(evaluateFolders(options({ metrics: ['EN', 'FOO'] })), /unknown metric 'FOO'/);
  const r = await tesg('eval', '--ir', dir('ir'), '--vi', dir('vi'), '--fused', 'nodir');
  assertOneLineError(r, /--fused expects NAME=DIR/);
});
