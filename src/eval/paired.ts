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

/** Below this many images a percentile bootstrap interval is too narrow to trust (n = 1 gives [d, d]): no marks. */
export const MIN_IMAGES_FOR_MARKS = 10;

/** One method against the baseline on one metric. */
export interface PairedCell {
  /** Mean over images of (method - baseline); NaN when no image has a finite difference. */
  diff: number;
  /** Bootstrap interval of `diff` at the comparison's level. */
  lo: number;
  hi: number;
  /** Images where the method is better / worse than the baseline (by the metric's direction); ties are neither. */
  better: number;
  worse: number;
  /** Images with a finite difference: the ones this cell uses (a NaN or infinite value on either side leaves an image out). */
  images: number;
}

export interface PairedComparison {
  /** What the numbers mean (pairedMarkdown's caption), so that per-image.json reads on its own. */
  caption: string;
  baseline: string;
  resamples: number;
  seed: number;
  level: number;
  metrics: string[];
  /** Every method but the baseline, in the given order: metric -> cell. */
  rows: { method: string; cells: Record<string, PairedCell> }[];
}

/** The most resamples `--resamples` takes (the statistics of every draw are kept: resamples x rows x metrics doubles). */
export const MAX_RESAMPLES = 100_000;

/**
 * `resamples` draws of n indices in 0..n-1 with replacement, from a seeded mulberry32 (src/downstream/rng.ts).
 * The same Uint32Array is refilled for each draw (copy it to keep one), so memory does not grow with
 * `resamples`. Errors: RangeError when n < 1 or resamples < 1.
 */
export function* resampleIndices(n: number, resamples: number, seed: number): Generator<Uint32Array> {
  if (!(n >= 1) || !(resamples >= 1)) throw new RangeError(`resampleIndices needs n >= 1 and resamples >= 1, got n=${n}, resamples=${resamples}`);
  const rng = new Rng(seed);
  const idx = new Uint32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    yield idx;
  }
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
  const others = methods.filter((m) => m !== baseline);
  // Per (method, metric): the per-image differences, then the mean of each draw (draws outer, so the
  // same draw serves every cell and none is stored).
  const diffs = others.map((method) => metrics.map((metric) => Float64Array.from(images, (img) => img.rows[method][metric] - img.rows[baseline][metric])));
  const drawMeans = others.map(() => metrics.map(() => new Float64Array(resamples)));
  let r = 0;
  for (const idx of resampleIndices(images.length, resamples, seed)) {
    diffs.forEach((byMetric, a) =>
      byMetric.forEach((d, b) => {
        let sum = 0;
        let n = 0;
        for (let i = 0; i < idx.length; i++) {
          const v = d[idx[i]];
          if (Number.isFinite(v)) (sum += v), n++;
        }
        drawMeans[a][b][r] = n > 0 ? sum / n : NaN;
      }),
    );
    r++;
  }
  const rows = others.map((method, a) => {
    const cells: Record<string, PairedCell> = {};
    metrics.forEach((metric, b) => {
      const higher = findMetric(metric)?.higherIsBetter ?? true;
      const d = diffs[a][b].filter(Number.isFinite);
      const diff = d.length > 0 ? d.reduce((sum, v) => sum + v, 0) / d.length : NaN;
      // Draws that picked only images without a finite difference have no mean: left out.
      const { lo, hi } = d.length > 0 ? percentileInterval(drawMeans[a][b].filter((v) => !Number.isNaN(v)), level) : { lo: NaN, hi: NaN };
      let better = 0;
      let worse = 0;
      for (const v of d) {
        if (v > 0) higher ? better++ : worse++;
        else if (v < 0) higher ? worse++ : better++;
      }
      cells[metric] = { diff, lo, hi, better, worse, images: d.length };
    });
    return { method, cells };
  });
  return { caption: pairedCaption(baseline, resamples, seed, level), baseline, resamples, seed, level, metrics, rows };
}

/** A signed number with fixed decimals ("+0.012", "-1.300"); nan spelled out. */
export function signed(v: number, decimals = 3): string {
  if (Number.isNaN(v)) return 'nan';
  const s = v.toFixed(decimals);
  return v >= 0 && !s.startsWith('-') ? `+${s}` : s;
}

function pairedCaption(baseline: string, resamples: number, seed: number, level: number): string {
  return (
    `Against ${baseline}, image by image: the mean over images of (method - ${baseline}), its ${Math.round(level * 100)} % bootstrap interval ` +
    `[low, high] (${resamples} resamples of the images, seed ${seed}), and on how many images the method is better / worse. ` +
    `For ↑ metrics a positive difference is better, for ↓ metrics a negative one. Bold: the whole interval is on the better ` +
    `side (better on this set); italic: on the worse side; an interval that contains 0 means these images do not rank the two. ` +
    `Cells on fewer than ${MIN_IMAGES_FOR_MARKS} images are not marked; an image whose value is not finite (nan, inf) is left out of its cell.`
  );
}

/** One cell as shown: the text "difference [lo, hi] better/worse" and whether the interval lies on one side. */
export interface PairedGridCell {
  text: string;
  mark: 'better' | 'worse' | null;
}

/** What the Markdown and report.html show: header labels (metric and direction), row labels, cells. */
export interface PairedGrid {
  headers: string[];
  labels: string[];
  cells: PairedGridCell[][];
}

/**
 * The comparison's cells, formatted: "difference [lo, hi] better/worse"; marked 'better' when the
 * whole interval is on the metric's better side (on at least MIN_IMAGES_FOR_MARKS images), 'worse' when
 * on the other.
 */
export function pairedGrid(c: PairedComparison, decimals = 3): PairedGrid {
  const higher = c.metrics.map((m) => findMetric(m)?.higherIsBetter ?? true);
  return {
    headers: c.metrics.map((m, j) => `${m} ${higher[j] ? '↑' : '↓'}`),
    labels: c.rows.map((r) => r.method),
    cells: c.rows.map((r) =>
      c.metrics.map((m, j): PairedGridCell => {
        const x = r.cells[m];
        if (Number.isNaN(x.diff)) return { text: 'nan', mark: null };
        const text = `${signed(x.diff, decimals)} [${signed(x.lo, decimals)}, ${signed(x.hi, decimals)}] ${x.better}/${x.worse}`;
        if (x.images < MIN_IMAGES_FOR_MARKS) return { text, mark: null };
        const above = x.lo > 0, below = x.hi < 0;
        if ((above && higher[j]) || (below && !higher[j])) return { text, mark: 'better' };
        if ((below && higher[j]) || (above && !higher[j])) return { text, mark: 'worse' };
        return { text, mark: null };
      }),
    ),
  };
}

/** The comparison as Markdown: its caption, then the grid; bold = 'better', italic = 'worse'. */
export function pairedMarkdown(c: PairedComparison, decimals = 3): string {
  const g = pairedGrid(c, decimals);
  const header = `| Method | ${g.headers.join(' | ')} |`;
  const rule = `|---|${g.headers.map(() => '---:').join('|')}|`;
  const body = g.cells.map((row, i) => `| ${g.labels[i]} | ${row.map(({ text, mark }) => (mark === 'better' ? `**${text}**` : mark === 'worse' ? `*${text}*` : text)).join(' | ')} |`);
  return [c.caption, '', header, rule, ...body].join('\n');
}
