import { tf } from '../runtime/tfjs-node.cjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import type { io } from '@tensorflow/tfjs-core';
import type { Image8 } from '../image/types.js';
import { centerNetInputSize, detectionsFromHeads, rgbFloats, type CenterNetHeads, type Detection, type DetectOptions } from './centernet-decode.js';

export { boxIou, centerNetInputSize, decodeCenterNet, detectionsFromHeads, DETECTOR_ID, nmsByClass, type Detection, type CenterNetHeads, type DetectOptions, type Grid } from './centernet-decode.js';

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

  /** Network input size for an image (centerNetInputSize). */
  static inputSizeFor(width: number, height: number, inputLong = 640): { w: number; h: number } {
    return centerNetInputSize(width, height, inputLong);
  }

  /** Detect objects. A 1-channel (IR) image is replicated to 3 channels. */
  async detect(img: Image8, opts: DetectOptions = {}): Promise<Detection[]> {
    const h = await this.heads(img, opts.inputLong);
    return detectionsFromHeads(h.keypoints, h.wh, h.grid, opts);
  }

  /**
   * The raw heads for an image: `keypoints` NHWC [gh, gw, 80] class heat maps in 0..1, `wh` [gh, gw, 4]
   * box-side distances in network-input pixels, and the grid (gh, gw, classes, image px per input px).
   */
  async heads(img: Image8, inputLong = 640): Promise<CenterNetHeads> {
    const { w, h } = CenterNet.inputSizeFor(img.width, img.height, inputLong);
    this.setInputSize(w, h);
    const [kp, wh] = tf.tidy(() => {
      const rgb = toRgbTensor(img);
      const x = tf.image.resizeBilinear(rgb, [h, w]);
      return this.model.execute(x, ['tower_0/keypoints', 'tower_0/wh']) as tf.Tensor[];
    });
    const keypoints = (await kp.data()) as Float32Array;
    const sizes = (await wh.data()) as Float32Array;
    const [, gh, gw, nc] = kp.shape as number[];
    tf.dispose([kp, wh]);
    return { keypoints, wh: sizes, grid: { gh, gw, nc, sx: img.width / w, sy: img.height / h } };
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
  return tf.tensor4d(rgbFloats(img), [1, img.height, img.width, 3]);
}

