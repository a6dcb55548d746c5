/**
 * Paired comparisons (src/eval/paired.ts, src/downstream/paired.ts): quantiles as numpy computes
 * them, intervals that collapse where the difference is constant, a bootstrap interval that matches
 * the normal-theory one on a large sample, mAP bootstraps whose point difference is the full set's,
 * and `tesg eval --baseline` end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pairedComparison, pairedMarkdown, percentileInterval, quantileSorted, resampleIndices } from '../src/eval/paired.js';
import type { StemScores } from '../src/eval/types.js';
import { Rng } from '../src/downstream/rng.js';
import { pairedDetection } from '../src/downstream/paired.js';
import { scoreDetections } from '../src/downstream/map.js';
import type { DetectionRow } from '../src/downstream/detect.js';
import type { GroundTruth, ScoredBox } from '../src/downstream/boxes.js';
import { assertOneLineError, ROOT, tesg } from './helpers/cli.js';

test('quantiles interpolate as numpy.quantile (linear): values checked with numpy 2.4', () => {
  assert.equal(quantileSorted([1, 2, 3, 4], 0.25), 1.75); // np.quantile([1,2,3,4], .25)
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assert.ok(Math.abs(quantileSorted([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.025) - 0.25) < 1e-12); // np.quantile(range(11), .025)
  assert.equal(quantileSorted([3], 0.975), 3);
  assert.deepEqual(percentileInterval(Float64Array.from([5, 1, 4, 2, 3]), 0.5), { lo: 2, hi: 4 }); // np.quantile(., [.25, .75])
  assert.ok(Number.isNaN(percentileInterval(Float64Array.from([1, NaN]), 0.95).lo));
});

test('resampling: seeded, in range, with replacement; bad sizes refused', () => {
  const draws = (n: number, r: number, seed: number) => [...resampleIndices(n, r, seed)].length === r && Array.from(resampleIndices(n, r, seed), (d) => Uint32Array.from(d));
  const a = draws(50, 20, 7) as Uint32Array[], b = draws(50, 20, 7) as Uint32Array[], c = draws(50, 20, 8) as Uint32Array[];
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const all = a.flatMap((d) => [...d]);
  assert.ok(all.every((i) => i >= 0 && i < 50));
  assert.ok(a.some((d) => new Set(d).size < 50), 'draws repeat images');
  assert.throws(() => resampleIndices(0, 10, 1).next(), RangeError);
});

const rows = (values: Record<string, Record<string, number>[]>): StemScores[] =>
  values[Object.keys(values)[0]].map((_, i) => ({ stem: `s${i}`, rows: Object.fromEntries(Object.entries(values).map(([m, v]) => [m, v[i]])) }));

test('a constant per-image difference gives that difference, a zero-width interval and every image on one side; MSE counts lower as better', () => {
  const base = Array.from({ length: 12 }, (_, i) => 0.4 + i * 0.03).map((q) => ({ Qabf: q, MSE: q * 100 }));
  const up = base.map((v) => ({ Qabf: v.Qabf + 0.01, MSE: v.MSE + 2 }));
  const c = pairedComparison(rows({ A: base, B: up }), ['A', 'B'], 'A', ['Qabf', 'MSE'], { resamples: 200 });
  const q = c.rows[0].cells.Qabf, m = c.rows[0].cells.MSE;
  for (const [x, d] of [[q, 0.01], [m, 2]] as const) {
    assert.ok(Math.abs(x.diff - d) < 1e-9 && Math.abs(x.lo - d) < 1e-9 && Math.abs(x.hi - d) < 1e-9, JSON.stringify(x));
  }
  assert.deepEqual([q.better, q.worse, m.better, m.worse], [12, 0, 0, 12]);
  const md = pairedMarkdown(c);
  assert.match(md, /\| B \| \*\*\+0\.010 \[\+0\.010, \+0\.010\] 12\/0\*\* \| \*\+2\.000 \[\+2\.000, \+2\.000\] 0\/12\* \|/);
  assert.throws(() => pairedComparison(rows({ A: base }), ['A'], 'Z', ['Qabf']), /baseline 'Z' is not one of the rows/);
});

test('fewer than 10 images: no marks; a non-finite value leaves its image out of that cell only', () => {
  const one = pairedComparison(rows({ A: [{ EN: 1 }], B: [{ EN: 2 }] }), ['A', 'B'], 'A', ['EN']);
  assert.deepEqual([one.rows[0].cells.EN.lo, one.rows[0].cells.EN.hi], [1, 1]);
  assert.match(pairedMarkdown(one), /\| B \| \+1\.000 \[\+1\.000, \+1\.000\] 1\/0 \|/, 'one image: the interval is [d, d], so not marked');
  const base = Array.from({ length: 12 }, (_, i) => ({ EN: i, SCD: i }));
  const meth = base.map((v, i) => ({ EN: v.EN + 1, SCD: i === 3 ? NaN : v.SCD + 1 }));
  const c = pairedComparison(rows({ A: base, B: meth }), ['A', 'B'], 'A', ['EN', 'SCD'], { resamples: 300 });
  const scd = c.rows[0].cells.SCD;
  assert.deepEqual([scd.diff, scd.lo, scd.hi, scd.better, scd.images], [1, 1, 1, 11, 11]);
  assert.equal(c.rows[0].cells.EN.images, 12);
  assert.match(pairedMarkdown(c), /\*\*\+1\.000 \[\+1\.000, \+1\.000\] 11\/0\*\*/);
  const none = pairedComparison(rows({ A: base, B: base.map(() => ({ EN: NaN, SCD: NaN })) }), ['A', 'B'], 'A', ['EN']);
  assert.ok(Number.isNaN(none.rows[0].cells.EN.diff) && none.rows[0].cells.EN.images === 0);
  assert.match(pairedMarkdown(none), /\| B \| nan \|/);
});

test('on 400 normal differences the 95 % bootstrap interval matches mean ± 1.96 s/√n within 10 %', () => {
  const rng = new Rng(3);
  const n = 400;
  const base = Array.from({ length: n }, () => ({ VIF: 1 + rng.normal() }));
  const meth = base.map((v) => ({ VIF: v.VIF + 0.3 + 0.5 * rng.normal() }));
  const c = pairedComparison(rows({ A: base, B: meth }), ['A', 'B'], 'A', ['VIF'], { resamples: 4000, seed: 5 });
  const d = meth.map((v, i) => v.VIF - base[i].VIF);
  const mean = d.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const half = 1.96 * sd / Math.sqrt(n);
  const cell = c.rows[0].cells.VIF;
  assert.ok(Math.abs(cell.diff - mean) < 1e-12);
  assert.ok(Math.abs((cell.hi - cell.lo) / 2 - half) / half < 0.1, `half-width ${(cell.hi - cell.lo) / 2} vs ${half}`);
  assert.ok(Math.abs((cell.hi + cell.lo) / 2 - mean) < 0.2 * half, 'interval centred on the mean');
});

test('detection: the point difference is the full set\'s mAP difference; a method identical to the baseline ties in every draw', () => {
  // 12 images, one person each; method "good" finds each person exactly, "half" only in even images, "copy" = "half".
  const gt = new Map<string, GroundTruth[]>();
  const good: Record<string, ScoredBox[]> = {}, half: Record<string, ScoredBox[]> = {};
  for (let i = 0; i < 12; i++) {
    const box = { x1: 0.1 + i * 0.01, y1: 0.2, x2: 0.3 + i * 0.01, y2: 0.6 };
    gt.set(`s${String(i).padStart(2, '0')}`, [{ cls: 0, box }]);
    good[`s${String(i).padStart(2, '0')}`] = [{ cls: 0, score: 0.9, box }];
    half[`s${String(i).padStart(2, '0')}`] = i % 2 === 0 ? [{ cls: 0, score: 0.8, box }] : [{ cls: 0, score: 0.7, box: { x1: 0.7, y1: 0.7, x2: 0.8, y2: 0.8 } }];
  }
  const row = (method: string, detections: Record<string, ScoredBox[]>) => ({ method, dir: '', images: 12, seconds: 0, detections, scores: null as never }) as DetectionRow;
  const opts = { classCount: 3, scoreThreshold: 0.2 };
  const p = pairedDetection([row('half', half), row('good', good), row('copy', half)], gt, 'half', opts, { resamples: 300 });
  const stems = [...gt.keys()].sort();
  const full = (d: Record<string, ScoredBox[]>) => scoreDetections(stems.map((s) => ({ gt: gt.get(s)!, dets: d[s] })), opts);
  const g = p.rows.find((r) => r.method === 'good')!.cells.map50;
  assert.ok(Math.abs(g.diff - (full(good).map50 - full(half).map50)) < 1e-12);
  assert.ok(g.diff > 0.4 && g.lo > 0 && g.above > 0.99, JSON.stringify(g));
  const same = p.rows.find((r) => r.method === 'copy')!.cells.map5095;
  assert.deepEqual([same.diff, same.lo, same.hi, same.above], [0, 0, 0, 0]);
  assert.throws(() => pairedDetection([row('half', half)], gt, 'nope', opts), /baseline 'nope' is not one of the methods/);
  // Only one labelled image of 3: draws without it have no mAP and are left out, not turned into NaN intervals.
  const sparse = new Map<string, GroundTruth[]>([['a', gt.get('s00')!], ['b', []], ['c', []]]);
  const dets = { a: good.s00, b: [], c: [] };
  const q = pairedDetection([row('x', dets), row('y', { ...dets, a: [] })], sparse, 'y', opts, { resamples: 200 }).rows[0].cells.map50;
  assert.ok(q.draws > 100 && q.draws < 200, `draws kept ${q.draws}`); // a draw misses 'a' with probability (2/3)^3 = 0.30
  assert.deepEqual([q.diff, q.lo, q.hi, q.above], [1, 1, 1, 1]);
});

test('tesg eval --baseline: the comparison in stdout, summary.md and per-image.json; bad --baseline, --resamples, --seed of eval and detect are one line', async () => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tesg-paired-'));
  try {
    const msrs = path.join(ROOT, 'samples', 'msrs');
    const r = await tesg('eval', '--ir', `${msrs}/ir`, '--vi', `${msrs}/vi`, '--fused', `VIcopy=${msrs}/vi`, '--sources', '--metrics', 'EN,Qabf',
      '--baseline', 'VI', '--resamples', '300', '--workers', '1', '--out', tmp);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Against VI, image by image/);
    // VIcopy is VI itself: difference 0 on both images, an interval of 0 width
    assert.match(r.stdout, /\| VIcopy \| \+0\.000 \[\+0\.000, \+0\.000\] 0\/0 \| \+0\.000 \[\+0\.000, \+0\.000\] 0\/0 \|/);
    assert.match(await fs.readFile(path.join(tmp, 'summary.md'), 'utf8'), /Against VI, image by image/);
    const json = JSON.parse(await fs.readFile(path.join(tmp, 'per-image.json'), 'utf8'));
    assert.equal(json.paired.baseline, 'VI');
    assert.match(json.paired.caption, /^Against VI, image by image/);
    assert.deepEqual(json.paired.rows.map((x: { method: string }) => x.method), ['IR', 'VIcopy']);
    const ir = json.images.filter((x: { method: string }) => x.method === 'IR'), vi = json.images.filter((x: { method: string }) => x.method === 'VI');
    const mean = (ir[0].EN - vi[0].EN + ir[1].EN - vi[1].EN) / 2;
    assert.ok(Math.abs(json.paired.rows[0].cells.EN.diff - mean) < 1e-12);
    const evalArgs = ['eval', '--ir', `${msrs}/ir`, '--vi', `${msrs}/vi`, '--fused', `A=${msrs}/vi`, '--out', tmp];
    assertOneLineError(await tesg(...evalArgs, '--baseline', 'IR'), /--baseline 'IR' is not a row; give one of A \(IR and VI need --sources\)/);
    assertOneLineError(await tesg(...evalArgs, '--sources', '--baseline', 'A', '--resamples', '0'), /--resamples must be an integer in 1\.\.100000, got '0'/);
    assertOneLineError(await tesg(...evalArgs, '--sources', '--baseline', 'A', '--seed', '-1'), /--seed must be an integer in 0\.\.4294967295, got '-1'/);
    assertOneLineError(await tesg(...evalArgs, '--resamples', '50'), /--resamples only applies with --baseline NAME/);
    const detArgs = ['downstream', 'detect', '--labels', path.join(tmp, 'no-labels'), '--method', `A=${msrs}/vi`, '--method', `B=${msrs}/ir`, '--out', tmp];
    assertOneLineError(await tesg(...detArgs, '--baseline', 'VI'), /--baseline 'VI' is not a method; give one of A, B \(IR and VI need --sources or --ir\/--vi\)/);
    assertOneLineError(await tesg(...detArgs, '--baseline', 'A', '--resamples', '100001'), /--resamples must be an integer in 1\.\.100000/);
    assertOneLineError(await tesg(...detArgs, '--seed', '3'), /--seed only applies with --baseline NAME/);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
});

test('tesg bench --e2e-compare speed-up interval: proportional rounds give a point; one slow round in five reaches the interval\'s low end', async () => {
  const { speedupInterval } = await import('../src/export/bench-e2e.js');
  const base = [2000, 2100, 2050, 1990, 2200];
  const p = speedupInterval(base, base.map((b) => b / 2.5));
  for (const v of [p.speedup, p.lo, p.hi]) assert.ok(Math.abs(v - 2.5) < 1e-12, String(v));
  // The model's median draw is its slow round (2) when 3 or more of the 5 draws pick it: 5.8 % of draws, above the 2.5 % tail.
  assert.deepEqual(speedupInterval([2, 2, 2, 2, 2], [1, 1, 1, 1, 2]), { speedup: 2, lo: 1, hi: 2 });
});
