import { COCO_LABELS } from './coco-labels.js';

/**
 * The SIG detector's (MB3-CenterNet, ./centernet.ts) input sizing, decode and NMS: plain arrays in,
 * detections out, no tfjs, so the onnxruntime form (./centernet-ort.ts), the SIG providers and the
 * browser share them without loading a tensor library.
 */

export interface Detection {
  /** Box corners in image pixels (x2, y2 exclusive-ish, may extend past the border before clipping). */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  /** COCO class name, e.g. 'person'. */
  label: string;
}

export interface DetectOptions {
  /** Minimum heatmap peak score (default 0.2, as human's minConfidence). */
  minScore?: number;
  /** Class-wise NMS IoU threshold (default 0.4, as human's iouThreshold). */
  iou?: number;
  /** Only these COCO classes (default all). */
  classes?: readonly string[];
  /** Long side of the network input in pixels, rounded to a multiple of 32 (default 640). */
  inputLong?: number;
  /** Most detections returned, best first (default 100). */
  maxDetections?: number;
}

export const DETECTOR_ID = 'vladmandic-human-centernet-mb3';
const STRIDE = 4;

/**
 * The detector's input values for an image: RGB floats 0..255, NHWC [H, W, 3] flattened (a 1-channel
 * image, IR, is replicated to 3 channels), as the graph takes them (no normalisation).
 */
export function rgbFloats(img: { width: number; height: number; channels: number; data: ArrayLike<number> }): Float32Array {
  const n = img.width * img.height;
  const rgb = new Float32Array(n * 3);
  if (img.channels === 3) {
    for (let i = 0; i < n * 3; i++) rgb[i] = img.data[i];
  } else {
    for (let i = 0, j = 0; i < n; i++, j += 3) rgb[j] = rgb[j + 1] = rgb[j + 2] = img.data[i];
  }
  return rgb;
}

/** Network input size for an image: aspect kept, long side `inputLong`, both multiples of 32 (at least 32). */
export function centerNetInputSize(width: number, height: number, inputLong = 640): { w: number; h: number } {
  const s = inputLong / Math.max(width, height);
  return { w: Math.max(32, Math.round((width * s) / 32) * 32), h: Math.max(32, Math.round((height * s) / 32) * 32) };
}

/**
 * Detections from the two heads (NHWC `keypoints` [gh, gw, nc] and `wh` [gh, gw, 4]): decode, then
 * class-wise NMS, best first, at most opts.maxDetections. Shared by the tfjs graph (./centernet.ts) and
 * its onnxruntime form (./centernet-ort.ts).
 */
export function detectionsFromHeads(heat: Float32Array, wh: Float32Array, g: Grid, opts: DetectOptions = {}, cellMax?: Float32Array): Detection[] {
  // NMS is quadratic in the candidates: a real image has tens above minScore, a broken model (a
  // damaged cache file) can give a million; the best MAX_CANDIDATES are far more than the 100 kept.
  return nmsByClass(decodeCenterNet(heat, wh, g, opts, cellMax).slice(0, MAX_CANDIDATES), opts.iou ?? 0.4).slice(0, opts.maxDetections ?? 100);
}

/** Candidates (best first) that go into NMS; the graph's own decode keeps 100 (TopK). */
export const MAX_CANDIDATES = 1000;

/** The two heads of one image, NHWC, and where they sit on the image (see CenterNet.heads). */
export interface CenterNetHeads {
  keypoints: Float32Array;
  wh: Float32Array;
  grid: Grid;
  /** [gh, gw]: the largest class score per cell, when the graph gives it (the onnxruntime form does). */
  cellMax?: Float32Array;
}

export interface Grid {
  gh: number;
  gw: number;
  nc: number;
  /** image pixels per network-input pixel */
  sx: number;
  sy: number;
}

/**
 * CenterNet decode: a detection at every heatmap cell that is the maximum of its 3x3 neighbourhood
 * in its class channel (the graph's MaxPool + Equal) and above minScore; box = cell centre * stride
 * minus/plus the four predicted distances (left, top, right, bottom), scaled to image pixels.
 * `cellMax` ([gh, gw], each cell's largest class score) only lets the loop skip cells where no class
 * reaches minScore: the detections are the same with or without it. A NaN score is never a detection.
 */
export function decodeCenterNet(heat: Float32Array, wh: Float32Array, g: Grid, opts: DetectOptions = {}, cellMax?: Float32Array): Detection[] {
  const minScore = opts.minScore ?? 0.2;
  const wanted = opts.classes ? COCO_LABELS.map((l) => opts.classes!.includes(l)) : undefined;
  const out: Detection[] = [];
  const { gh, gw, nc } = g;
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      if (cellMax && !(cellMax[y * gw + x] >= minScore)) continue;
      const base = (y * gw + x) * nc;
      for (let c = 0; c < nc; c++) {
        const v = heat[base + c];
        if (!(v >= minScore) || (wanted && !wanted[c])) continue; // NaN (a broken model) is no detection
        if (!isPeak(heat, g, x, y, c, v)) continue;
        const o = (y * gw + x) * 4;
        out.push({
          x1: (x * STRIDE - wh[o]) * g.sx,
          y1: (y * STRIDE - wh[o + 1]) * g.sy,
          x2: (x * STRIDE + wh[o + 2]) * g.sx,
          y2: (y * STRIDE + wh[o + 3]) * g.sy,
          score: v,
          label: COCO_LABELS[c] ?? `class${c}`,
        });
      }
    }
  }
  return out.sort((a, b) => b.score - a.score);
}

function isPeak(heat: Float32Array, g: Grid, x: number, y: number, c: number, v: number): boolean {
  for (let dy = -1; dy <= 1; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= g.gh) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const xx = x + dx;
      if (xx < 0 || xx >= g.gw || (dx === 0 && dy === 0)) continue;
      if (heat[(yy * g.gw + xx) * g.nc + c] > v) return false;
    }
  }
  return true;
}

export function boxIou(a: { x1: number; y1: number; x2: number; y2: number }, b: { x1: number; y1: number; x2: number; y2: number }): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const ua = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return ua > 0 ? inter / ua : 0;
}

/** Greedy non-maximum suppression within each class; input and output sorted by score, best first. */
export function nmsByClass(dets: Detection[], iou: number): Detection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (kept.some((k) => k.label === d.label && boxIou(k, d) > iou)) continue;
    kept.push(d);
  }
  return kept;
}
