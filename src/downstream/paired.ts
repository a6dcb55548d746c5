/**
 * Paired bootstrap of detection mAP against a baseline method: the labelled images are drawn with
 * replacement (the same draws for every method), each draw is scored COCO-style as the whole set is
 * (./map.ts), and the spread of (method - baseline) over the draws says whether a gap in mAP is more
 * than these images can tell apart. mAP is not a mean over images, so each draw is scored anew
 * (a pooled precision/recall curve per class), not averaged from per-image values.
 * Percentile intervals and the draws as in ../eval/paired.ts.
 */
import { DEFAULT_BOOTSTRAP, percentileInterval, resampleIndices, signed, type BootstrapOptions } from '../eval/paired.js';
import type { GroundTruth } from './boxes.js';
import type { DetectionRow } from './detect.js';
import { scoreDetections, type DetectionScores, type ImageDetections, type ScoreOptions } from './map.js';

/** The mAP columns compared (keys of DetectionScores). */
export const PAIRED_DETECTION_METRICS = ['map50', 'map75', 'map5095'] as const;
export type PairedDetectionMetric = (typeof PAIRED_DETECTION_METRICS)[number];

export interface DetectionPairedCell {
  /** mAP(method) - mAP(baseline) on the whole set (0..1 units). */
  diff: number;
  /** Percentile interval of that difference over the draws. */
  lo: number;
  hi: number;
  /** Share of draws (0..1) where the method's mAP is above the baseline's. */
  above: number;
  /** Draws used: those with a mAP (a draw of only unlabelled images has none and is left out). */
  draws: number;
}

export interface DetectionPaired {
  /** What the numbers mean (pairedDetectionMarkdown's caption), so that detection.json reads on its own. */
  caption: string;
  baseline: string;
  images: number;
  resamples: number;
  seed: number;
  level: number;
  rows: { method: string; cells: Record<PairedDetectionMetric, DetectionPairedCell> }[];
}

/**
 * Every row but `baseline` against it. `gt`: the labels by stem (readLabelSet); each row's
 * `detections` must hold every stem of `gt`. Errors: RangeError for an unknown baseline, no labelled
 * image, or a row without detections for a labelled stem.
 */
export function pairedDetection(rows: DetectionRow[], gt: Map<string, GroundTruth[]>, baseline: string, score: ScoreOptions, opts: BootstrapOptions = {}): DetectionPaired {
  const { resamples, seed, level } = { ...DEFAULT_BOOTSTRAP, ...opts };
  const base = rows.find((r) => r.method === baseline);
  if (!base) throw new RangeError(`baseline '${baseline}' is not one of the methods (${rows.map((r) => r.method).join(', ')})`);
  const stems = [...gt.keys()].sort();
  if (stems.length === 0) throw new RangeError('pairedDetection needs at least one labelled image');
  const perImage = (r: DetectionRow): ImageDetections[] =>
    stems.map((s) => {
      const dets = r.detections[s];
      if (!dets) throw new RangeError(`${r.method} has no detections for labelled image '${s}'`);
      return { gt: gt.get(s)!, dets };
    });
  const all = rows.map(perImage);
  const b = rows.indexOf(base);
  const full = all.map((imgs) => scoreDetections(imgs, score));
  // Draws outer: each draw scores every method on the same images, and only the differences are kept.
  const d = rows.map(() => Object.fromEntries(PAIRED_DETECTION_METRICS.map((m) => [m, new Float64Array(resamples)])) as Record<PairedDetectionMetric, Float64Array>);
  let r = 0;
  for (const idx of resampleIndices(stems.length, resamples, seed)) {
    const scores = all.map((imgs) => scoreDetections(Array.from(idx, (i) => imgs[i]), score));
    scores.forEach((s, k) => {
      for (const m of PAIRED_DETECTION_METRICS) d[k][m][r] = s[m] - scores[b][m];
    });
    r++;
  }
  const out: DetectionPaired['rows'] = [];
  rows.forEach((row, k) => {
    if (k === b) return;
    const cells = {} as Record<PairedDetectionMetric, DetectionPairedCell>;
    for (const m of PAIRED_DETECTION_METRICS) {
      const kept = d[k][m].filter((v) => !Number.isNaN(v));
      const interval = kept.length > 0 ? percentileInterval(kept, level) : { lo: NaN, hi: NaN };
      cells[m] = { diff: full[k][m] - full[b][m], ...interval, above: kept.length > 0 ? kept.filter((v) => v > 0).length / kept.length : NaN, draws: kept.length };
    }
    out.push({ method: row.method, cells });
  });
  const caption =
    `Against ${baseline}: the mAP difference (method - ${baseline}) on the ${stems.length} images, its ${Math.round(level * 100)} % bootstrap ` +
    `interval [low, high] (${resamples} resamples of the labelled images, the same for every method, seed ${seed}; each resample scored as the whole set), ` +
    `and the share of resamples in which the method is above. An interval that contains 0 means these images do not rank the two.`;
  return { caption, baseline, images: stems.length, resamples, seed, level, rows: out };
}

const HEADERS: Record<PairedDetectionMetric, string> = { map50: 'mAP@0.50', map75: 'mAP@0.75', map5095: 'mAP@0.50:0.95' };

/** Markdown: a caption, then per method and mAP column "difference [lo, hi]" and the share of draws above. */
export function pairedDetectionMarkdown(p: DetectionPaired): string {
  const header = `| Method | ${PAIRED_DETECTION_METRICS.map((m) => `Δ ${HEADERS[m]} [interval], above`).join(' | ')} |`;
  const rule = `|---|${PAIRED_DETECTION_METRICS.map(() => '---:').join('|')}|`;
  const body = p.rows.map((r) => `| ${r.method} | ${PAIRED_DETECTION_METRICS.map((m) => {
    const c = r.cells[m];
    return `${signed(c.diff)} [${signed(c.lo)}, ${signed(c.hi)}], ${Math.round(c.above * 100)} %`;
  }).join(' | ')} |`);
  return [p.caption, '', header, rule, ...body].join('\n');
}
