/**
 * Paired comparison against a baseline on the same images: is method A really above method B on this
 * set, or is the gap inside what 50 images can tell apart?
 *
 * For every (method, metric): the mean per-image difference (method - baseline, in the metric's own
 * units), its percentile bootstrap interval (the images drawn with replacement; the same draws for
 * every method and metric, so each draw stays paired), and how many images the method scores better
 * or worse than the baseline on (direction from the metric: lower is better for MSE). Percentile
 * bootstrap as in Efron & Tibshirani, "An Introduction to the Bootstrap" (1993), ch. 13; quantiles as
 * numpy's default (linear interpolation, "type 7"). Pure: no Node imports.
 */
import { Rng } from '../downstream/rng.js';
import { findMetric } from '../metrics/index.js';
import type { StemScores } from './types.js';

export interface BootstrapOptions {
  /** Number of resamples of the images (default 1000). */
  resamples?: number;
  /** Seed of the resampling (default 1): the same seed draws the same images. */
  seed?: number;
  /** Two-sided level of the interval (default 0.95). */
  level?: number;
}

export const DEFAULT_BOOTSTRAP = { resamples: 1000, seed: 1, level: 0.95 } as const;

/** One method against the baseline on one metric. */
export interface PairedCell {
  /** Mean over images of (method - baseline); NaN when a per-image value is not finite. */
  diff: number;
  /** Bootstrap interval of `diff` at the comparison's level. */
  lo: number;
  hi: number;
  /** Images where the method is better / worse than the baseline (by the metric's direction); ties are neither. */
  better: number;
  worse: number;
  images: number;
}

export interface PairedComparison {
  baseline: string;
  resamples: number;
  seed: number;
  level: number;
  metrics: string[];
  /** Every method but the baseline, in the given order: metric -> cell. */
  rows: { method: string; cells: Record<string, PairedCell> }[];
}

/**
 * `resamples` draws of n indices in 0..n-1 with replacement, from a seeded mulberry32 (src/downstream/rng.ts),
 * one Uint32Array per draw. Errors: RangeError when n < 1 or resamples < 1.
 */
export function resampleIndices(n: number, resamples: number, seed: number): Uint32Array[] {
  if (!(n >= 1) || !(resamples >= 1)) throw new RangeError(`resampleIndices needs n >= 1 and resamples >= 1, got n=${n}, resamples=${resamples}`);
  const rng = new Rng(seed);
  return Array.from({ length: resamples }, () => {
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    return idx;
  });
}

/** The q-quantile (0..1) of ascending `sorted`, interpolated linearly between order statistics (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const i = Math.floor(pos);
  const frac = pos - i;
  return i + 1 < n ? sorted[i] + frac * (sorted[i + 1] - sorted[i]) : sorted[i];
}

/** Percentile interval of `values` (resampled statistics) at two-sided `level`; NaN if any value is NaN. */
export function percentileInterval(values: Float64Array, level: number): { lo: number; hi: number } {
  if (values.some(Number.isNaN)) return { lo: NaN, hi: NaN };
  const sorted = Float64Array.from(values).sort();
  const tail = (1 - level) / 2;
  return { lo: quantileSorted(sorted, tail), hi: quantileSorted(sorted, 1 - tail) };
}

/**
 * Compares every method in `methods` but `baseline` with `baseline` on `images` (the per-image rows of
 * `tesg eval`). Errors: RangeError when `baseline` is not among `methods` or there are no images.
 */
export function pairedComparison(images: StemScores[], methods: string[], baseline: string, metrics: string[], opts: BootstrapOptions = {}): PairedComparison {
  const { resamples, seed, level } = { ...DEFAULT_BOOTSTRAP, ...opts };
  if (!methods.includes(baseline)) throw new RangeError(`baseline '${baseline}' is not one of the rows (${methods.join(', ')})`);
  if (images.length === 0) throw new RangeError('pairedComparison needs at least one image');
  const draws = resampleIndices(images.length, resamples, seed);
  const rows = methods
    .filter((m) => m !== baseline)
    .map((method) => {
      const cells: Record<string, PairedCell> = {};
      for (const metric of metrics) {
        const higher = findMetric(metric)?.higherIsBetter ?? true;
        const d = Float64Array.from(images, (img) => img.rows[method][metric] - img.rows[baseline][metric]);
        const finite = d.every(Number.isFinite);
        const mean = (idx?: Uint32Array) => {
          let s = 0;
          if (idx) for (let i = 0; i < idx.length; i++) s += d[idx[i]];
          else for (let i = 0; i < d.length; i++) s += d[i];
          return s / d.length;
        };
        const diff = finite ? mean() : NaN;
        const { lo, hi } = finite ? percentileInterval(Float64Array.from(draws, (idx) => mean(idx)), level) : { lo: NaN, hi: NaN };
        let better = 0;
        let worse = 0;
        for (const v of d) {
          if (v > 0) higher ? better++ : worse++;
          else if (v < 0) higher ? worse++ : better++;
        }
        cells[metric] = { diff, lo, hi, better, worse, images: d.length };
      }
      return { method, cells };
    });
  return { baseline, resamples, seed, level, metrics, rows };
}

/** A signed number with fixed decimals ("+0.012", "-1.300"); nan spelled out. */
export function signed(v: number, decimals = 3): string {
  if (Number.isNaN(v)) return 'nan';
  const s = v.toFixed(decimals);
  return v >= 0 && !s.startsWith('-') ? `+${s}` : s;
}

/**
 * The comparison as Markdown: a caption line, then one row per method and one column per metric, each
 * cell "difference [lo, hi] better/worse". An interval that excludes 0 is marked: bold when the method
 * is better, italic when worse.
 */
export function pairedMarkdown(c: PairedComparison, decimals = 3): string {
  const pct = Math.round(c.level * 100);
  const caption =
    `Against ${c.baseline}, image by image: the mean difference (method - ${c.baseline}), its ${pct} % bootstrap interval ` +
    `(${c.resamples} resamples of the images, seed ${c.seed}), and on how many images the method is better / worse. ` +
    `Bold: better on this set beyond the interval; italic: worse beyond it.`;
  const header = `| Method | ${c.metrics.map((m) => `${m} ${(findMetric(m)?.higherIsBetter ?? true) ? '↑' : '↓'}`).join(' | ')} |`;
  const rule = `|---|${c.metrics.map(() => '---:').join('|')}|`;
  const body = c.rows.map((r) => {
    const cells = c.metrics.map((m) => {
      const x = r.cells[m];
      if (Number.isNaN(x.diff)) return 'nan';
      const higher = findMetric(m)?.higherIsBetter ?? true;
      const text = `${signed(x.diff, decimals)} [${signed(x.lo, decimals)}, ${signed(x.hi, decimals)}] ${x.better}/${x.worse}`;
      const above = x.lo > 0, below = x.hi < 0;
      if ((above && higher) || (below && !higher)) return `**${text}**`;
      if ((below && higher) || (above && !higher)) return `*${text}*`;
      return text;
    });
    return `| ${r.method} | ${cells.join(' | ')} |`;
  });
  return [caption, '', header, rule, ...body].join('\n');
}
