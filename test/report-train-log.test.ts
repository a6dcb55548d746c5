/**
 * `tesg plot-log` on the committed tesg-v1 training log (3,450 steps): the plotted running means equal
 * means computed here from the CSV by hand, weights come from the checkpoint beside the log, the PNG is
 * the SVG's size x2 with the series colours in it, and bad logs give a one-line error naming the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tesg } from './helpers/cli.js';
import sharp from 'sharp';
import { lossCurveSpec, parseTrainLog, runningMean } from '../src/report/train-log-plot.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LOG = path.join(ROOT, 'weights/tesg-v1/train/train-log.csv');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-plot-log-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** Column `name` of the CSV, parsed independently of parseTrainLog. */
function column(name: string): number[] {
  const [head, ...rows] = readFileSync(LOG, 'utf8').trim().split('\n');
  const i = head.split(',').indexOf(name);
  return rows.map((r) => Number(r.split(',')[i]));
}

test('the plotted series are the running means of the weighted terms', () => {
  const rows = parseTrainLog(readFileSync(LOG, 'utf8'), LOG);
  assert.equal(rows.length, 3450);
  const spec = lossCurveSpec(rows, { window: 100, weights: { ssim: 1, intensity: 4, gradient: 10, color: 12 }, maxPoints: 100000 }) as unknown as {
    vconcat: Array<{ data: { values: Array<Record<string, number | string>> } }>;
  };
  const at = (term: string, step: number) => spec.vconcat[0].data.values.find((v) => v.term === term && v.step === step)?.value as number;
  const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
  const loss = column('loss'), grad = column('gradient'), ssim = column('ssim');
  // step 3450 averages steps 3351..3450; step 50 the first 50 steps (a shorter window at the start)
  assert.ok(Math.abs(at('total', 3450) - mean(loss.slice(3350))) < 1e-9);
  assert.ok(Math.abs(at('gradient x10', 3450) - 10 * mean(grad.slice(3350))) < 1e-9);
  assert.ok(Math.abs(at('SSIM x1', 50) - mean(ssim.slice(0, 50))) < 1e-9);
  assert.ok(Math.abs(at('total', 3450) - 0.838) < 0.0005, 'weights/README.md: mean loss of the last 100 steps 0.838');
  // colour is 0 throughout (output Y): no colour series; the lr panel holds every step
  assert.equal(spec.vconcat[0].data.values.filter((v) => String(v.term).startsWith('colour')).length, 0);
  assert.equal(spec.vconcat[1].data.values.length, 3450);
  assert.deepEqual(runningMean([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5]);
});

test('a distillation run (tesg-v2.2\'s log): the teacher term is plotted as it enters the total, from the checkpoint\'s weight', async () => {
  const log = path.join(ROOT, 'weights/tesg-v2.2-train/train-log.csv');
  const [head, ...lines] = readFileSync(log, 'utf8').trim().split('\n');
  const teacher = lines.map((r) => Number(r.split(',')[head.split(',').indexOf('teacher')]));
  const rows = parseTrainLog(readFileSync(log, 'utf8'), log);
  const spec = lossCurveSpec(rows, { window: 100, weights: { ssim: 1, intensity: 4, gradient: 10, color: 12, teacher: 3000 }, maxPoints: 100000 }) as unknown as {
    vconcat: Array<{ data: { values: Array<Record<string, number | string>> } }>;
  };
  const at = (step: number) => spec.vconcat[0].data.values.find((v) => v.term === 'teacher x3000' && v.step === step)?.value as number;
  const last100 = teacher.slice(900).reduce((a, b) => a + b, 0) / 100;
  assert.ok(Math.abs(at(1000) - 3000 * last100) < 1e-9, `${at(1000)} vs ${3000 * last100}`);
  // without a teacher weight (the v1 log has no column) there is no such series
  const v1 = lossCurveSpec(parseTrainLog(readFileSync(LOG, 'utf8'), LOG), { weights: { ssim: 1, intensity: 4, gradient: 10, color: 12 } }) as unknown as typeof spec;
  assert.equal(v1.vconcat[0].data.values.filter((v) => String(v.term).startsWith('teacher')).length, 0);
  // the CLI takes the weight from the checkpoint beside the log
  const out = path.join(tmp, 'v22.svg');
  const r = await tesg('plot-log', log, '-o', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(out, 'utf8'), /teacher x3000/);
});

test('tesg plot-log writes a PNG at twice the SVG size with the series drawn, weights from the checkpoint', async () => {
  const svgOut = path.join(tmp, 'loss.svg'), pngOut = path.join(tmp, 'loss.png');
  const a = await tesg('plot-log', LOG, '-o', svgOut);
  assert.equal(a.code, 0, a.stderr);
  const svg = readFileSync(svgOut, 'utf8');
  assert.match(svg, /gradient x10/, 'weights read from weights/tesg-v1/train/checkpoint.safetensors');
  const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
  const b = await tesg('plot-log', LOG, '-o', pngOut, '--loss-weights', 'ssim=1,intensity=1,gradient=1,color=1');
  assert.equal(b.code, 0, b.stderr);
  const { data, info } = await sharp(pngOut).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 2 * width);
  let blue = 0; // the total's colour #4c78a8
  for (let p = 0; p < data.length; p += 3) if (Math.abs(data[p] - 0x4c) < 12 && Math.abs(data[p + 1] - 0x78) < 12 && Math.abs(data[p + 2] - 0xa8) < 12) blue++;
  assert.ok(blue > 500, `${blue} pixels of the total's line colour`);
});

test('a bad log or output gives a one-line error naming the file, exit 2', async () => {
  const bad = path.join(tmp, 'run', 'train-log.csv');
  rmSync(path.dirname(bad), { recursive: true, force: true });
  mkdirSync(path.dirname(bad), { recursive: true });
  writeFileSync(bad, readFileSync(LOG, 'utf8').replace('\n3,', '\n3,abc'));
  const r = await tesg('plot-log', bad, '-o', path.join(tmp, 'x.png'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^tesg: error: .*run[/\\]train-log\.csv: line 4: column loss is 'abc3\.56253', not a number\n$/);
  const missing = await tesg('plot-log', path.join(tmp, 'nope.csv'), '-o', path.join(tmp, 'x.png'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^tesg: error: .*nope\.csv: cannot read \(ENOENT\)/);
  const ext = await tesg('plot-log', LOG, '-o', path.join(tmp, 'x.jpg'));
  assert.equal(ext.code, 2);
  assert.match(ext.stderr, /x\.jpg: the figure must be \.png or \.svg/);
});
