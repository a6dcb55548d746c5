/**
 * Segmentation scores from a confusion matrix accumulated over the whole test set (as the MSRS /
 * SeAFusion evaluation does: one matrix for all pixels, not a mean of per-image IoUs).
 *
 * IoU_c = TP / (TP + FP + FN). A class with no pixels in either the labels or the predictions has
 * a 0/0 IoU: it is reported as null and left out of mIoU (numpy's nanmean convention). A class that
 * is only predicted, or only labelled, has IoU 0 and counts. mIoU averages all remaining classes,
 * background (label 0) included, as the paper's Table 3 does.
 */
export class ConfusionMatrix {
  /** counts[gt * k + pred]. Float64 so 50+ full-resolution images never overflow. */
  readonly counts: Float64Array;
  constructor(readonly classCount: number) {
    this.counts = new Float64Array(classCount * classCount);
  }

  /** Add one image: `gt` and `pred` hold class indices per pixel. Labels >= classCount are an error. */
  add(gt: ArrayLike<number>, pred: ArrayLike<number>): void {
    if (gt.length !== pred.length) throw new RangeError(`label has ${gt.length} pixels, prediction ${pred.length}`);
    const k = this.classCount;
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i], p = pred[i];
      if (g >= k || p >= k) throw new RangeError(`class index ${Math.max(g, p)} >= ${k} at pixel ${i}`);
      this.counts[g * k + p]++;
    }
  }

  get(gt: number, pred: number): number {
    return this.counts[gt * this.classCount + pred];
  }
}

export interface SegmentationScores {
  /** Per class, 0..1; null when the class is absent from both labels and predictions. */
  iou: (number | null)[];
  miou: number;
  pixelAccuracy: number;
}

export function segmentationScores(cm: ConfusionMatrix): SegmentationScores {
  const k = cm.classCount;
  const iou: (number | null)[] = [];
  let diag = 0;
  let total = 0;
  for (let c = 0; c < k; c++) {
    let row = 0, col = 0;
    for (let j = 0; j < k; j++) {
      row += cm.get(c, j);
      col += cm.get(j, c);
    }
    const tp = cm.get(c, c);
    const union = row + col - tp;
    iou.push(union === 0 ? null : tp / union);
    diag += tp;
    total += row;
  }
  const present = iou.filter((v): v is number => v !== null);
  return {
    iou,
    miou: present.length === 0 ? NaN : present.reduce((s, v) => s + v, 0) / present.length,
    pixelAccuracy: total === 0 ? NaN : diag / total,
  };
}
