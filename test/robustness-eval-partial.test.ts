/**
 * `tesg eval` on a folder set with faults in it: two MSRS test pairs (../shared/data/msrs/test) and a
 * fused folder whose second image is cropped to 632x480. With --allow-missing every complete,
 * consistent triple is scored and each skipped one is listed with its reason (the two sizes); without
 * it the one-line error stays. A fused folder that lacks a stem is named as lacking it (not the IR/VI
 * files as lacking a partner).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { MismatchError } from '../src/errors.js';
import { toGray } from '../src/image/color.js';
import { readImage } from '../src/image/read.js';
import { findMetric } from '../src/metrics/index.js';
import { evaluateFolders, type EvalOptions } from '../src/eval/run.js';
import { assertOneLineError, ROOT, tesg } from './helpers/cli.js';

const MSRS = path.join(ROOT, '..', 'shared', 'data', 'msrs', 'test');
const skip = !existsSync(MSRS) && 'no ../shared/data/msrs/test';
const [P1, P2] = ['00103D', '00107D'];
const METRICS = ['EN', 'SD', 'MSE', 'Qabf'];

let tmp: string;
const dir = (...p: string[]) => path.join(tmp, ...p);

before(async () => {
  if (skip) return;
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tesg-eval-partial-'));
  for (const d of ['ir', 'vi', 'avg', 'copy']) await fs.mkdir(dir(d));
  for (const stem of [P1, P2]) {
    await fs.copyFile(path.join(MSRS, 'ir', `${stem}.png`), dir('ir', `${stem}.png`));
    await fs.copyFile(path.join(MSRS, 'vi', `${stem}.png`), dir('vi', `${stem}.png`));
    await fs.copyFile(path.join(MSRS, 'ir', `${stem}.png`), dir('copy', `${stem}.png`));
    const [ir, vi] = await Promise.all([dir('ir', `${stem}.png`), dir('vi', `${stem}.png`)].map(async (f) => toGray(await readImage(f))));
    const avg = Buffer.from(ir.data.map((v, i) => Math.round((v + vi.data[i]) / 2)));
    const png = sharp(avg, { raw: { width: ir.width, height: ir.height, channels: 1 } });
    // The second fused image lost 8 columns (a crop to 632x480, as a network that pads to 16 and crops wrongly).
    await (stem === P2 ? png.extract({ left: 0, top: 0, width: 632, height: 480 }) : png).png().toFile(dir('avg', `${stem}.png`));
  }
});
after(async () => {
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

const options = (extra: Partial<EvalOptions> = {}): EvalOptions => ({
  ir: dir('ir'), vi: dir('vi'), fused: [{ name: 'Avg', dir: dir('avg') }], out: dir('out'), metrics: METRICS, workers: 1, progress: false, ...extra,
});

test('--allow-missing scores the consistent triple and lists the mis-sized one with both sizes', { skip }, async () => {
  const r = await evaluateFolders(options({ allowMissing: true, out: dir('out-lib') }));
  assert.deepEqual(r.images.map((i) => i.stem), [P1]);
  assert.equal(r.skipped.mismatched.length, 1);
  assert.equal(r.skipped.mismatched[0].stem, P2);
  assert.match(r.skipped.mismatched[0].message, new RegExp(`ir/${P2}\\.png is 640x480 but \\S*avg/${P2}\\.png is 632x480`));
  assert.deepEqual([r.skipped.unreadable, r.skipped.unmatched, r.skipped.lacking], [[], {}, {}]);
  assert.match(r.caption, /^Mean over 1 image\(s\) \(1 skipped: see per-image\.json\)/);
  // The one scored image: its values (and so the means) are the metrics of that triple.
  const [f, ir, vi] = await Promise.all([dir('avg', `${P1}.png`), dir('ir', `${P1}.png`), dir('vi', `${P1}.png`)].map(async (p) => toGray(await readImage(p))));
  for (const m of METRICS) {
    const want = findMetric(m)!.compute(f, ir, vi);
    assert.equal(r.images[0].rows.Avg[m], want, m);
    assert.equal(r.summary[0].means[m], want, `${m} mean`);
  }
  const json = JSON.parse(await fs.readFile(dir('out-lib', 'per-image.json'), 'utf8'));
  assert.equal(json.count, 1);
  assert.equal(json.skipped.mismatched[0].stem, P2);
});

test('CLI: without the flag one line naming both files and sizes, nothing written; with it exit 0 and the skip listed (2 workers)', { skip }, async () => {
  const args = ['--ir', dir('ir'), '--vi', dir('vi'), '--fused', `Avg=${dir('avg')}`, '--metrics', METRICS.join(','), '--out', dir('out-cli')];
  const fail = await tesg('eval', ...args);
  assertOneLineError(fail, new RegExp(`^tesg: error: size mismatch: \\S*ir/${P2}\\.png is 640x480 but \\S*avg/${P2}\\.png is 632x480.*--allow-missing`));
  // stderr: plain progress lines (not a TTY), then the one error line.
  const errors = fail.stderr.trim().split('\n').filter((l) => !/^eval: \d+\/\d+/.test(l));
  assert.equal(errors.length, 1, fail.stderr);
  await assert.rejects(fs.access(dir('out-cli')), 'nothing written on failure');

  const ok = await tesg('eval', ...args, '--allow-missing', '--workers', '2');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, new RegExp(`^skipped image '${P2}': size mismatch: \\S*ir/${P2}\\.png is 640x480 but \\S*avg/${P2}\\.png is 632x480`, 'm'));
  assert.match(ok.stderr, /scored 1 image\(s\) x 1 row\(s\)/);
  assert.match(ok.stdout, /^Mean over 1 image\(s\) \(1 skipped/);
});

test('a fused folder without p2 is named as lacking it; with two methods each fault is listed once', { skip }, async () => {
  await fs.cp(dir('copy'), dir('copy-gap'), { recursive: true });
  await fs.rm(dir('copy-gap', `${P2}.png`));
  await fs.copyFile(dir('copy', `${P1}.png`), dir('copy-gap', 'extra.png'));
  const o = options({ fused: [{ name: 'Copy', dir: dir('copy-gap') }], out: dir('out-gap') });
  await assert.rejects(evaluateFolders(o), (e: unknown) => {
    assert.ok(e instanceof MismatchError);
    assert.equal(
      e.message,
      `the fused folder Copy=${dir('copy-gap')} lacks ${P2}; 1 file(s) have no partner (Copy: extra.png); ` +
        'add the missing files, or rerun with --allow-missing to score the 1 complete image(s)',
    );
    return true;
  });
  // Copy lacks P2 and Avg's P2 is mis-sized: P2 is skipped (for every method, so the means compare the
  // same images), P1 is scored for both.
  const r = await evaluateFolders({ ...o, fused: [{ name: 'Avg', dir: dir('avg') }, ...o.fused], allowMissing: true });
  assert.deepEqual(r.images.map((i) => i.stem), [P1]);
  assert.deepEqual(r.skipped.lacking, { Copy: [P2] });
  assert.deepEqual(r.skipped.unmatched, { Copy: ['extra.png'] });
  assert.deepEqual(r.skipped.mismatched, [], 'P2 is not scored at all, so its size is not checked');
  assert.equal(r.images[0].rows.Copy.MSE, findMetric('MSE')!.compute(...(await Promise.all([dir('copy', `${P1}.png`), dir('ir', `${P1}.png`), dir('vi', `${P1}.png`)].map(async (p) => toGray(await readImage(p))))) as [never, never, never]));
  assert.match(r.caption, /\(2 skipped/, 'P2 and the stray extra.png');
});
