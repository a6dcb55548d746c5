import { iou, type GroundTruth, type ScoredBox } from './boxes.js';

/**
 * COCO-style detection scoring (as pycocotools' COCOeval, bbox, area "all", no crowd boxes):
 * - per image and class, detections sorted by score (stable), at most `maxDetsPerImage`;
 * - each detection, best first, matches the unmatched ground truth of its class with the highest
 *   IoU >= t; a second detection of an already matched object is a false positive;
 * - per class: precision/recall over all images, precision made monotone (the envelope), read at the
 *   101 recall points 0, 0.01, ..., 1 (first detection reaching that recall; 0 if never), averaged;
 * - mAP = mean over the classes that have ground truth (classes absent from the ground truth are left
 *   out, as COCOeval's -1 entries are).
 */

/** One image's ground truth and detections (detections already mapped to the GT's class indices). */
export interface ImageDetections {
  gt: GroundTruth[];
  dets: ScoredBox[];
}

export interface DetectionScores {
  /** mAP at IoU 0.50, 0.75, and averaged over 0.50:0.05:0.95. */
  map50: number;
  map75: number;
  map5095: number;
  /** Mean over GT classes of precision and recall at IoU 0.50 for detections with score >= threshold. */
  precision: number;
  recall: number;
  /** Per class (index = class): AP per IoU threshold (null if the class has no GT), P, R, counts. */
  perClass: ClassScores[];
}

export interface ClassScores {
  cls: number;
  gtCount: number;
  /** AP at each of IOU_THRESHOLDS; null when the class has no ground truth. */
  ap: number[] | null;
  precision: number | null;
  recall: number | null;
  /** At the score threshold, IoU 0.50. */
  tp: number;
  fp: number;
}

/** 0.50, 0.55, ..., 0.95 computed as numpy's linspace does, so thresholds equal COCOeval's. */
export const IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : i * ((0.95 - 0.5) / 9) + 0.5));
/** 0, 0.01, ..., 1 (101 points), again as np.linspace(0, 1, 101). */
export const RECALL_POINTS: readonly number[] = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * (1 / 100)));

export interface ScoreOptions {
  classCount: number;
  /** Score threshold for precision/recall (the detector's default). */
  scoreThreshold: number;
  maxDetsPerImage?: number;
}

interface Matched {
  score: number;
  /** Per IoU threshold: true positive? */
  tp: boolean[];
}

/** Greedy COCO matching of one image's detections of one class. */
function matchImage(gts: GroundTruth[], dets: ScoredBox[], thresholds: readonly number[]): Matched[] {
  const out: Matched[] = dets.map((d) => ({ score: d.score, tp: new Array<boolean>(thresholds.length).fill(false) }));
  const ious = dets.map((d) => gts.map((g) => iou(d.box, g.box)));
  thresholds.forEach((t, ti) => {
    const taken = new Array<boolean>(gts.length).fill(false);
    for (let di = 0; di < dets.length; di++) {
      // COCOeval: best = min(t, 1 - 1e-10); take the untaken GT with the highest IoU >= best.
      let best = Math.min(t, 1 - 1e-10);
      let m = -1;
      for (let gi = 0; gi < gts.length; gi++) {
        if (taken[gi] || ious[di][gi] < best) continue;
        best = ious[di][gi];
        m = gi;
      }
      if (m >= 0) {
        taken[m] = true;
        out[di].tp[ti] = true;
      }
    }
  });
  return out;
}

function stableSortByScore<T extends { score: number }>(xs: T[]): T[] {
  return xs.map((x, i) => ({ x, i })).sort((a, b) => b.x.score - a.x.score || a.i - b.i).map((e) => e.x);
}

/** AP from true/false positives in descending score order (101-point interpolation). */
export function averagePrecision(tp: boolean[], gtCount: number): number {
  if (gtCount === 0) return NaN;
  const n = tp.length;
  const rc = new Float64Array(n);
  const pr = new Float64Array(n);
  let ctp = 0;
  for (let i = 0; i < n; i++) {
    if (tp[i]) ctp++;
    rc[i] = ctp / gtCount;
    pr[i] = ctp / (i + 1);
  }
  for (let i = n - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
  let sum = 0;
  let j = 0;
  for (const r of RECALL_POINTS) {
    while (j < n && rc[j] < r) j++; // numpy searchsorted(rc, r, side='left')
    if (j < n) sum += pr[j];
  }
  return sum / RECALL_POINTS.length;
}

export function scoreDetections(images: ImageDetections[], opts: ScoreOptions): DetectionScores {
  const maxDets = opts.maxDetsPerImage ?? 100;
  const perClass: ClassScores[] = [];
  for (let c = 0; c < opts.classCount; c++) {
    let gtCount = 0;
    const all: Matched[] = [];
    let tp = 0;
    let fp = 0;
    for (const img of images) {
      const gts = img.gt.filter((g) => g.cls === c);
      const dets = stableSortByScore(img.dets.filter((d) => d.cls === c)).slice(0, maxDets);
      gtCount += gts.length;
      all.push(...matchImage(gts, dets, IOU_THRESHOLDS));
      // Precision/recall at the operating threshold: the same matching on the kept detections only.
      const kept = dets.filter((d) => d.score >= opts.scoreThreshold);
      for (const m of matchImage(gts, kept, [IOU_THRESHOLDS[0]])) (m.tp[0] ? tp++ : fp++);
    }
    const sorted = stableSortByScore(all);
    const ap = gtCount === 0 ? null : IOU_THRESHOLDS.map((_, ti) => averagePrecision(sorted.map((m) => m.tp[ti]), gtCount));
    perClass.push({
      cls: c,
      gtCount,
      ap,
      // No detections kept: precision 0 (as Ultralytics' tp / (tp + fp + eps)), not undefined.
      precision: gtCount === 0 ? null : tp + fp === 0 ? 0 : tp / (tp + fp),
      recall: gtCount === 0 ? null : tp / gtCount,
      tp,
      fp,
    });
  }
  const present = perClass.filter((p) => p.ap !== null);
  const mean = (f: (p: ClassScores) => number) => (present.length === 0 ? NaN : present.reduce((s, p) => s + f(p), 0) / present.length);
  const i75 = IOU_THRESHOLDS.findIndex((t) => Math.abs(t - 0.75) < 1e-9);
  return {
    map50: mean((p) => p.ap![0]),
    map75: mean((p) => p.ap![i75]),
    map5095: mean((p) => p.ap!.reduce((s, a) => s + a, 0) / p.ap!.length),
    precision: mean((p) => p.precision!),
    recall: mean((p) => p.recall!),
    perClass,
  };
}
