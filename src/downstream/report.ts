import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { MSRS_DETECTION_CLASSES, MSRS_SEGMENTATION_CLASSES, type ClassMapName } from './classes.js';
import { DETECTOR_ID, type DetectionRow } from './detect.js';
import { pairedDetectionMarkdown, type DetectionPaired } from './paired.js';
import { downstreamCsv, downstreamMarkdown, type TableColumn } from './table.js';

/** Table 2 / Table 3 output: Markdown to print, CSV and JSON files written atomically. */

export function detectionCaption(classMap: ClassMapName, threshold: number, images: number): string {
  return (
    `Detection on ${images} image(s) (form of the paper's Table 2). Detector: frozen COCO CenterNet (${DETECTOR_ID}, ` +
    `from @vladmandic/human), NOT YOLOv8 retrained per method as in the paper: a cheap, honest substitute, so the ` +
    `figures rank methods by how recognisable their objects stay to a detector that never saw fused images and are ` +
    `not comparable with the paper's numbers. COCO->MSRS classes: ${classMap === 'merged' ? 'person; bicycle+motorcycle->bicycle; car+bus+truck->car' : 'person, bicycle, car only'}. ` +
    `mAP COCO-style (101-point, IoU .50:.05:.95, mean over classes with ground truth); precision/recall at IoU 0.50 and score >= ${threshold} ` +
    `(the detector's default), mean over classes. Best in bold, second underlined.`
  );
}

const DET_COLUMNS = [
  { header: 'mAP@0.50', decimals: 3 },
  { header: 'mAP@0.75', decimals: 3 },
  { header: 'mAP@0.50:0.95', decimals: 3 },
  { header: 'Precision', decimals: 3 },
  { header: 'Recall', decimals: 3 },
];

export function detectionMarkdown(rows: DetectionRow[]): string {
  return downstreamMarkdown(
    DET_COLUMNS,
    rows.map((r) => ({ name: r.method, values: [r.scores.map50, r.scores.map75, r.scores.map5095, r.scores.precision, r.scores.recall] })),
  );
}

/** detection.md, .csv and .json in `outDir` (atomic writes); with `paired`, its table goes into the .md and the .json too. */
export async function writeDetectionReport(outDir: string, rows: DetectionRow[], caption: string, settings: object, paired?: DetectionPaired): Promise<string[]> {
  const md =
    `${caption}\n\n${detectionMarkdown(rows)}\n\nWall time per method (read + detect + score): ${rows.map((r) => `${r.method} ${r.seconds.toFixed(1)} s`).join(', ')}\n` +
    (paired ? `\n${pairedDetectionMarkdown(paired)}\n` : '');
  const perClassCols = MSRS_DETECTION_CLASSES.flatMap((c) => [`AP50_${c}`, `AP50:95_${c}`, `P_${c}`, `R_${c}`, `GT_${c}`]);
  const csv = downstreamCsv(
    ['mAP50', 'mAP75', 'mAP50_95', 'precision', 'recall', 'images', 'seconds', ...perClassCols],
    rows.map((r) => ({
      name: r.method,
      values: [
        r.scores.map50, r.scores.map75, r.scores.map5095, r.scores.precision, r.scores.recall, r.images, r.seconds.toFixed(2),
        ...r.scores.perClass.flatMap((c) => [c.ap?.[0] ?? '', c.ap ? c.ap.reduce((s, a) => s + a, 0) / c.ap.length : '', c.precision ?? '', c.recall ?? '', c.gtCount]),
      ],
    })),
  );
  const json = JSON.stringify({ caption, settings, detector: DETECTOR_ID, classes: MSRS_DETECTION_CLASSES, rows, ...(paired ? { paired } : {}) }, null, 1);
  const files = ['detection.md', 'detection.csv', 'detection.json'].map((f) => path.join(outDir, f));
  await writeFileAtomic(files[0], md);
  await writeFileAtomic(files[1], csv);
  await writeFileAtomic(files[2], json + '\n');
  return files;
}

/** What `tesg downstream segment` writes to <out>/result.json and seg-table reads back. */
export interface SegmentationResult {
  method: string;
  trainImages: string;
  testImages: string;
  backend: string;
  params: number;
  settings: { steps: number; batch: number; lr: number; seed: number; width: number; height: number };
  trainSeconds: number;
  evalSeconds: number;
  finalLoss: number;
  /** Per class, percent, null when absent from labels and predictions. */
  iou: (number | null)[];
  miou: number;
  pixelAccuracy: number;
  confusion: number[];
}

export const SEG_CAPTION =
  "Segmentation IoU (%) on the labelled test pairs (form of the paper's Table 3). Network: a small U-Net " +
  "(~0.49 M parameters; libtorch or tfjs-wasm, the same function), trained from scratch on each method's images with the same seed(s) and step budget, NOT the " +
  "paper's DeepLabV3+ for 370 epochs; figures compare methods under that fixed budget and are not comparable with the " +
  'paper. IoU from one confusion matrix over all test pixels; mIoU over the 9 classes (background included), classes absent ' +
  'from both labels and predictions left out. Best in bold, second underlined.';

const SEG_HEADERS = ['Background', 'Car', 'Person', 'Bike', 'Curve', 'Car stop', 'Guardrail', 'Color cone', 'Bump'];

/** The runs of one method (same row name), e.g. the same budget under several seeds. */
export interface SegmentationGroup {
  method: string;
  runs: SegmentationResult[];
  /** Per class, mean over the runs of the IoUs that are not null (null when all are). */
  iou: (number | null)[];
  miou: number;
  /** max - min of the runs' mIoU (0 for one run). */
  miouSpread: number;
}

/** Group results by method name, in order of first appearance, and average each group's IoUs. */
export function groupSegmentation(results: SegmentationResult[]): SegmentationGroup[] {
  const by = new Map<string, SegmentationResult[]>();
  for (const r of results) by.set(r.method, [...(by.get(r.method) ?? []), r]);
  return [...by].map(([method, runs]) => {
    const iou = runs[0].iou.map((_, c) => {
      const vs = runs.map((r) => r.iou[c]).filter((v): v is number => v !== null);
      return vs.length ? vs.reduce((s, v) => s + v, 0) / vs.length : null;
    });
    const m = runs.map((r) => r.miou);
    return { method, runs, iou, miou: m.reduce((s, v) => s + v, 0) / m.length, miouSpread: Math.max(...m) - Math.min(...m) };
  });
}

/**
 * Table 3: one row per method; a method with several runs (seeds) shows their mean, "(mean of n)" in
 * its name, and a "mIoU spread" column (max - min over its runs, unranked) tells how much of a gap
 * between rows is seed noise.
 */
export function segmentationMarkdown(results: SegmentationResult[]): string {
  const groups = groupSegmentation(results);
  const multi = groups.some((g) => g.runs.length > 1);
  const cols: TableColumn[] = [...SEG_HEADERS, 'mIoU'].map((h) => ({ header: h, decimals: 2 }));
  if (multi) cols.push({ header: 'mIoU spread', decimals: 2, ranked: false });
  return downstreamMarkdown(
    cols,
    groups.map((g) => ({
      name: g.runs.length > 1 ? `${g.method} (mean of ${g.runs.length})` : g.method,
      values: [...g.iou.map((v) => (v === null ? NaN : v)), g.miou, ...(multi ? [g.runs.length > 1 ? g.miouSpread : NaN] : [])],
    })),
  );
}

export function segmentationCsv(results: SegmentationResult[]): string {
  return downstreamCsv(
    [...MSRS_SEGMENTATION_CLASSES.map((c) => `IoU_${c}`), 'mIoU', 'pixel_accuracy', 'steps', 'batch', 'size', 'seed', 'train_seconds', 'backend'],
    results.map((r) => ({
      name: r.method,
      values: [...r.iou.map((v) => (v === null ? '' : v)), r.miou, r.pixelAccuracy, r.settings.steps, r.settings.batch, `${r.settings.width}x${r.settings.height}`, r.settings.seed, r.trainSeconds.toFixed(1), r.backend],
    })),
  );
}
