import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError, MismatchError } from '../errors.js';
import { readImage } from '../image/read.js';
import { DETECTOR_ID, type Detection } from '../semantics/centernet-decode.js';
import type { ObjectDetector } from '../semantics/default-provider.js';
import { loadSigDetector } from '../semantics/sig-detector.js';
import { imagesByStem } from '../util/pairing.js';
import { createProgress } from '../util/progress.js';
import { iou, type GroundTruth, type ScoredBox } from './boxes.js';
import { cocoToMsrs, MSRS_DETECTION_CLASSES, type ClassMapName } from './classes.js';
import { scoreDetections, type DetectionScores, type ImageDetections } from './map.js';
import { readClassNames, readYolo } from './yolo.js';

/**
 * Detection benchmark (paper Table 2) with a frozen COCO detector: the SIG's CenterNet, run on each
 * method's images, COCO labels mapped to the MSRS classes, scored against YOLO boxes.
 *
 * The paper retrains YOLOv8 on each method's fused images; that is hours of GPU per method. A frozen
 * detector trained on COCO photos is the honest, cheap substitute: it measures how well each method's
 * images keep objects recognisable to a detector that never saw fused images, not what a detector
 * trained on them would reach. Figures are therefore not comparable with the paper's Table 2.
 */
export interface DetectionMethod {
  name: string;
  dir: string;
}

export interface DetectionRunOptions {
  labelsDir: string;
  methods: DetectionMethod[];
  classMap: ClassMapName;
  /** Score threshold for precision/recall: the detector's default (0.2, as human's minConfidence). */
  scoreThreshold: number;
  /** Lowest score kept for AP (COCO evaluations keep low-scoring boxes; default 0.05). */
  minScore: number;
  /** Long side of the detector input (the detector's default, 640). */
  inputLong: number;
  /** Class-wise NMS IoU after mapping to MSRS classes (the detector's own, 0.4). */
  nmsIou: number;
  quiet?: boolean;
  /** The label set of `labelsDir`, when the caller has read it already (readLabelSet). */
  labels?: LabelSet;
}

export const DEFAULT_DETECTION_OPTIONS = { classMap: 'merged' as ClassMapName, scoreThreshold: 0.2, minScore: 0.05, inputLong: 640, nmsIou: 0.4 };

export interface DetectionRow {
  method: string;
  dir: string;
  images: number;
  scores: DetectionScores;
  seconds: number;
  /** Per image: stem -> detections (normalised boxes, MSRS classes). */
  detections: Record<string, ScoredBox[]>;
}

export interface LabelSet {
  stems: string[];
  gt: Map<string, GroundTruth[]>;
  classNames: string[];
}

export async function readLabelSet(dir: string): Promise<LabelSet> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw new InputError(dir, `cannot list the label folder (${(err as NodeJS.ErrnoException).code ?? String(err)}); expected YOLO .txt files`);
  }
  const classNames = (await readClassNames(path.join(dir, 'classes.txt'))) ?? [...MSRS_DETECTION_CLASSES];
  const expected = MSRS_DETECTION_CLASSES.join(',');
  if (classNames.join(',') !== expected) {
    throw new InputError(path.join(dir, 'classes.txt'), `expected classes ${expected} (MSRS detection), got ${classNames.join(',')}`);
  }
  const stems = names.filter((n) => n.endsWith('.txt') && n !== 'classes.txt' && !n.startsWith('.')).map((n) => n.slice(0, -4)).sort();
  if (stems.length === 0) throw new InputError(dir, 'no YOLO .txt label files');
  const gt = new Map<string, GroundTruth[]>();
  for (const s of stems) gt.set(s, await readYolo(path.join(dir, `${s}.txt`), classNames.length));
  return { stems, gt, classNames };
}

/** COCO detections (pixels) -> MSRS classes, normalised boxes clipped to the image, NMS within each MSRS class. */
export function mapDetections(dets: Detection[], width: number, height: number, map: Readonly<Record<string, number>>, nmsIou: number): ScoredBox[] {
  const clip = (v: number) => Math.min(1, Math.max(0, v));
  const mapped: ScoredBox[] = [];
  for (const d of dets) {
    const cls = map[d.label];
    if (cls === undefined) continue;
    mapped.push({ cls, score: d.score, box: { x1: clip(d.x1 / width), y1: clip(d.y1 / height), x2: clip(d.x2 / width), y2: clip(d.y2 / height) } });
  }
  mapped.sort((a, b) => b.score - a.score);
  // A scooter found as both "bicycle" and "motorcycle" is one MSRS bike: keep the better box.
  const kept: ScoredBox[] = [];
  for (const d of mapped) if (!kept.some((k) => k.cls === d.cls && iou(k.box, d.box) > nmsIou)) kept.push(d);
  return kept;
}

/**
 * Runs the frozen detector (the SIG's: onnxruntime, or tfjs with TESG_DETECTOR=tfjs; the same
 * detections) on every labelled image of every method. `detector`: one to use instead (kept open).
 */
export async function runDetection(o: DetectionRunOptions, detector?: ObjectDetector): Promise<DetectionRow[]> {
  const labels = o.labels ?? (await readLabelSet(o.labelsDir));
  const map = cocoToMsrs(o.classMap);
  const images = new Map<string, Map<string, string>>();
  for (const m of o.methods) {
    const byStem = await imagesByStem(m.dir);
    const missing = labels.stems.filter((s) => !byStem.has(s));
    if (missing.length > 0) {
      throw new MismatchError(`${m.dir} (${m.name}): no image for ${missing.length} labelled stem(s): ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ' ...' : ''}; each label file needs an image with the same name stem`);
    }
    images.set(m.name, byStem);
  }
  const owned = detector ? undefined : await loadSigDetector();
  const det: ObjectDetector = detector ?? owned!;
  const classes = Object.keys(map);
  const rows: DetectionRow[] = [];
  try {
    for (const m of o.methods) {
      const t0 = process.hrtime.bigint();
      const progress = o.quiet ? null : createProgress({ label: `detect ${m.name}`, total: labels.stems.length });
      const perImage: ImageDetections[] = [];
      const detections: Record<string, ScoredBox[]> = {};
      for (const stem of labels.stems) {
        const img = await readImage(images.get(m.name)!.get(stem)!);
        const raw = await det.detect(img, { minScore: o.minScore, iou: o.nmsIou, classes, inputLong: o.inputLong, maxDetections: 100 });
        const dets = mapDetections(raw, img.width, img.height, map, o.nmsIou);
        detections[stem] = dets;
        perImage.push({ gt: labels.gt.get(stem)!, dets });
        progress?.tick();
      }
      progress?.done();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const scores = scoreDetections(perImage, { classCount: labels.classNames.length, scoreThreshold: o.scoreThreshold });
      rows.push({ method: m.name, dir: m.dir, images: labels.stems.length, scores, seconds, detections });
    }
  } finally {
    await owned?.dispose();
  }
  return rows;
}

export { DETECTOR_ID };
