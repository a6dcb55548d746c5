import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { io } from '@tensorflow/tfjs-core';
import { CenterNetDetector, decodeCenterNet, nmsByClass, type Detection, type DetectOptions } from '../../src/semantics/detector.js';
import type { Image8 } from '../../src/image/types.js';

/**
 * The SIG default's COCO detector (MB3-CenterNet from @vladmandic/human) in the browser. Same graph,
 * same input sizing, same decode and NMS as src/semantics/detector.ts (those are imported; only the
 * loading differs: the model files come from the served site, copied there at build time, instead of
 * node_modules on disk). Two details of the CLI's loader are repeated here and must stay in step:
 * the free input size of the placeholder and the three upsampling size constants.
 */

const UPSAMPLE_NODES = [
  ['tower_0/CenternetHead/c5_upsample/up_sampling2d/mul', 8],
  ['tower_0/CenternetHead/c4_upsample/up_sampling2d_1/mul', 16],
  ['tower_0/CenternetHead/c3_upsample/up_sampling2d_2/mul', 32],
] as const;

interface NodeDef {
  op: string;
  attr?: { shape?: { shape?: { dim: { size: string }[] } } };
}

/** Loads model.json and its weights with fetch, letting the input placeholder take any height and width. */
function fetchHandler(modelUrl: string, onBytes?: (loaded: number, total: number) => void): io.IOHandler {
  return {
    async load(): Promise<io.ModelArtifacts> {
      const res = await fetch(modelUrl);
      if (!res.ok) throw new Error(`cannot load the detector model ${modelUrl}: HTTP ${res.status}`);
      const manifest = (await res.json()) as { modelTopology: { node: NodeDef[] }; weightsManifest: io.WeightsManifestConfig; format?: string; generatedBy?: string; convertedBy?: string };
      for (const n of manifest.modelTopology.node) {
        const dims = n.op === 'Placeholder' ? n.attr?.shape?.shape?.dim : undefined;
        if (dims && dims.length === 4) dims[1].size = dims[2].size = '-1';
      }
      const base = new URL('.', new URL(modelUrl, location.href));
      const parts = manifest.weightsManifest.flatMap((g) => g.paths);
      const buffers: ArrayBuffer[] = [];
      for (const p of parts) {
        const r = await fetch(new URL(p, base));
        if (!r.ok) throw new Error(`cannot load the detector weights ${p}: HTTP ${r.status}`);
        buffers.push(await r.arrayBuffer());
        onBytes?.(buffers.length, parts.length);
      }
      const total = buffers.reduce((s, b) => s + b.byteLength, 0);
      const all = new Uint8Array(total);
      let o = 0;
      for (const b of buffers) {
        all.set(new Uint8Array(b), o);
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
    },
  };
}

export class BrowserCenterNet {
  private inputSize = '';
  private constructor(private readonly model: GraphModel) {}

  static async load(modelUrl: string): Promise<BrowserCenterNet> {
    return new BrowserCenterNet(await loadGraphModel(fetchHandler(modelUrl)));
  }

  /** As CenterNetDetector.detect: aspect kept, long side 640 (multiple of 32), raw heads decoded here. */
  async detect(img: Image8, opts: DetectOptions = {}): Promise<Detection[]> {
    const { w, h } = CenterNetDetector.inputSizeFor(img.width, img.height, opts.inputLong ?? 640);
    this.setInputSize(w, h);
    const [kp, wh] = tf.tidy(() => {
      const x = tf.image.resizeBilinear(toRgbTensor(img), [h, w]);
      return this.model.execute(x, ['tower_0/keypoints', 'tower_0/wh']) as tf.Tensor[];
    });
    const heat = (await kp.data()) as Float32Array;
    const sizes = (await wh.data()) as Float32Array;
    const [, gh, gw, nc] = kp.shape as number[];
    tf.dispose([kp, wh]);
    const dets = decodeCenterNet(heat, sizes, { gh, gw, nc, sx: img.width / w, sy: img.height / h }, opts);
    return nmsByClass(dets, opts.iou ?? 0.4).slice(0, opts.maxDetections ?? 100);
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
  if (img.channels === 3) for (let i = 0; i < n * 3; i++) rgb[i] = img.data[i];
  else for (let i = 0, j = 0; i < n; i++, j += 3) rgb[j] = rgb[j + 1] = rgb[j + 2] = img.data[i];
  return tf.tensor4d(rgb, [1, img.height, img.width, 3]);
}
