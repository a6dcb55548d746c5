import { tf } from '../runtime/tfjs-node.cjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import type { io } from '@tensorflow/tfjs-core';
import type { Image8 } from '../image/types.js';
import { COCO_LABELS } from './coco-labels.js';

/**
 * The SIG default's COCO detector, MB3-CenterNet (MobileNetV3 backbone, CenterNet head, 80 COCO
 * classes, a tfjs graph model in @vladmandic/human's models/ folder, MIT), once its files are read:
 * graph preparation, input sizing, decode and NMS. Browser-safe (no Node built-ins): the CLI loads the
 * files from node_modules (src/semantics/detector.ts), the browser app fetches them from the site
 * (web/src/detector.ts); both run this.
 *
 * The graph's own decode (tower_0/detections) is fixed to a 512x512 input and a top-100 over all
 * classes. We read the raw heads instead (tower_0/keypoints: per-class sigmoid heatmaps at stride 4;
 * tower_0/wh: distances to the box sides in input pixels) and decode here, which lets the input keep
 * the image's aspect ratio at any size that is a multiple of 32 (the graph's three upsampling sizes
 * are constants; we set them per input size). Input: RGB float 0..255, no normalisation (as human feeds it).
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
const UPSAMPLE_NODES = [
  ['tower_0/CenternetHead/c5_upsample/up_sampling2d/mul', 8],
  ['tower_0/CenternetHead/c4_upsample/up_sampling2d_1/mul', 16],
  ['tower_0/CenternetHead/c3_upsample/up_sampling2d_2/mul', 32],
] as const;

export interface NodeDef {
  name: string;
  op: string;
  attr?: { shape?: { shape?: { dim: { size: string }[] } } };
}

/** A tfjs graph model's model.json, as far as the loaders read it. */
export interface GraphManifest {
  modelTopology: { node: NodeDef[] };
  weightsManifest: io.WeightsManifestConfig;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
}

/** Let the input placeholder take any height and width (-1); the graph is convolutional up to the heads. */
export function freeInputSize(topology: { node: NodeDef[] }): void {
  for (const n of topology.node) {
    const dims = n.op === 'Placeholder' ? n.attr?.shape?.shape?.dim : undefined;
    if (dims && dims.length === 4) {
      dims[1].size = '-1';
      dims[2].size = '-1';
    }
  }
}

/** What loadGraphModel takes: the manifest's topology and its weight files' bytes, in manifest order. */
export function graphArtifacts(manifest: GraphManifest, weightFiles: readonly Uint8Array[]): io.ModelArtifacts {
  const all = new Uint8Array(weightFiles.reduce((s, b) => s + b.byteLength, 0));
  let o = 0;
  for (const b of weightFiles) {
    all.set(b, o);
    o += b.byteLength;
  }
  return {
    modelTopology: manifest.modelTopology,
    weightSpecs: manifest.weightsManifest.flatMap((g) => g.weights),
    weightData: all.buffer,
    format: manifest.format,
    generatedBy: manifest.generatedBy,
    convertedBy: manifest.convertedBy,
  };
}

/** The loaded graph (freeInputSize applied); subclasses add the loading. */
export class CenterNet {
  private inputSize = '';
  protected constructor(private readonly model: GraphModel) {}

  /** Network input size for an image: aspect kept, long side `inputLong`, both multiples of 32. */
  static inputSizeFor(width: number, height: number, inputLong = 640): { w: number; h: number } {
    const s = inputLong / Math.max(width, height);
    return { w: Math.max(32, Math.round((width * s) / 32) * 32), h: Math.max(32, Math.round((height * s) / 32) * 32) };
  }

  /** Detect objects. A 1-channel (IR) image is replicated to 3 channels. */
  async detect(img: Image8, opts: DetectOptions = {}): Promise<Detection[]> {
    const { w, h } = CenterNet.inputSizeFor(img.width, img.height, opts.inputLong ?? 640);
    this.setInputSize(w, h);
    const [kp, wh] = tf.tidy(() => {
      const rgb = toRgbTensor(img);
      const x = tf.image.resizeBilinear(rgb, [h, w]);
      return this.model.execute(x, ['tower_0/keypoints', 'tower_0/wh']) as tf.Tensor[];
    });
    const heat = (await kp.data()) as Float32Array;
    const sizes = (await wh.data()) as Float32Array;
    const [, gh, gw, nc] = kp.shape as number[];
    tf.dispose([kp, wh]);
    const dets = decodeCenterNet(heat, sizes, { gh, gw, nc, sx: img.width / w, sy: img.height / h }, opts);
    return nmsByClass(dets, opts.iou ?? 0.4).slice(0, opts.maxDetections ?? 100);
  }

  dispose(): void {
    this.model.dispose();
  }

  private setInputSize(w: number, h: number): void {
    const key = `${w}x${h}`;
    if (key === this.inputSize) return;
    const weights = this.model.weights;
    for (const [name, div] of UPSAMPLE_NODES) {
      const old = weights[name];
      weights[name] = [tf.tensor1d([(h * div) / 128, (w * div) / 128], 'int32')];
      if (old) tf.dispose(old);
    }
    this.inputSize = key;
  }
}

function toRgbTensor(img: Image8): tf.Tensor4D {
  const n = img.width * img.height;
  const rgb = new Float32Array(n * 3);
  if (img.channels === 3) {
    for (let i = 0; i < n * 3; i++) rgb[i] = img.data[i];
  } else {
    for (let i = 0, j = 0; i < n; i++, j += 3) rgb[j] = rgb[j + 1] = rgb[j + 2] = img.data[i];
  }
  return tf.tensor4d(rgb, [1, img.height, img.width, 3]);
}

interface Grid {
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
 */
export function decodeCenterNet(heat: Float32Array, wh: Float32Array, g: Grid, opts: DetectOptions = {}): Detection[] {
  const minScore = opts.minScore ?? 0.2;
  const wanted = opts.classes ? COCO_LABELS.map((l) => opts.classes!.includes(l)) : undefined;
  const out: Detection[] = [];
  const { gh, gw, nc } = g;
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      const base = (y * gw + x) * nc;
      for (let c = 0; c < nc; c++) {
        const v = heat[base + c];
        if (v < minScore || (wanted && !wanted[c])) continue;
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
