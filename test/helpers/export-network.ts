/**
 * Shared set-up of the whole-network export tests (test/export-network.test.ts for tesg-v1's
 * configs, test/export-unet.test.ts for the U-shapes): random inputs, the network on tfjs-cpu, the
 * network exported to an ONNX file and loaded in OnnxFuser, and its run on onnxruntime, both in NHWC.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../../src/model/tfjs.js';
import type { TesgModel } from '../../src/model/model.js';
import type { ModelConfig } from '../../src/model/config.js';
import { viChannels } from '../../src/model/config.js';
import { outChannels } from '../../src/model/network.js';
import { buildOnnxModel } from '../../src/export/export.js';
import { OnnxFuser } from '../../src/export/onnx-fuse.js';
import { chwToHwc, hwcToChw } from '../../src/export/layout.js';
import { randomFloats } from './model-fixtures.js';
import { tmp } from './export-parity.js';

/** One input of the network: w x h images in NHWC (values 0..1), a binary mask, F_t [text_tokens * text_dim]. */
export interface Case {
  w: number;
  h: number;
  ir: Float32Array;
  vi: Float32Array;
  mask: Float32Array;
  text: Float32Array;
}

/**
 * Random 0..1 IR (seed), VI (seed + 1, viChannels(cfg) channels), F_t uniform in -0.5..0.5
 * (seed + 2), and a blocky mask: 1 in the top half (y < h/2) right of the first third (x > w/3),
 * and, when `middleThird`, also left of 2w/3.
 */
export function randomCase(cfg: ModelConfig, w: number, h: number, seed: number, middleThird = false): Case {
  const u = (n: number, s: number) => Float32Array.from(randomFloats(n, s), (v) => (v + 1) / 2);
  const mask = Float32Array.from({ length: w * h }, (_, i) => ((i % w) > w / 3 && (!middleThird || (i % w) < (2 * w) / 3) && Math.floor(i / w) < h / 2 ? 1 : 0));
  return { w, h, ir: u(w * h, seed), vi: u(w * h * viChannels(cfg), seed + 1), mask, text: randomFloats(cfg.text_tokens * cfg.text_dim, seed + 2, 0.5) };
}

/** model.forward on tfjs (the current backend) for one case: NHWC [1, h, w, outChannels]. */
export function tfjsForward(model: TesgModel, c: Case): Float32Array {
  const cfg = model.config;
  return tf.tidy(() =>
    model.forward({
      ir: tf.tensor4d(c.ir, [1, c.h, c.w, 1]),
      vi: tf.tensor4d(c.vi, [1, c.h, c.w, viChannels(cfg)]),
      mask: tf.tensor4d(c.mask, [1, c.h, c.w, 1]),
      text: tf.tensor3d(c.text, [1, cfg.text_tokens, cfg.text_dim]),
    }).dataSync() as Float32Array,
  );
}

/** Export `model` (its config and current weights) to <tmp>/<name>.onnx and load it in OnnxFuser on 1 thread. */
export async function exportModel(model: TesgModel, name: string): Promise<OnnxFuser> {
  const file = path.join(tmp, `${name}.onnx`);
  writeFileSync(file, buildOnnxModel(model.config, await model.params.toArrays()).bytes);
  return OnnxFuser.load(file, { threads: 1 });
}

/** One whole-image run of the exported network (OnnxFuser.runPlanar) on a case: NHWC [1, h, w, outChannels]. */
export async function onnxForward(fuser: OnnxFuser, c: Case): Promise<Float32Array> {
  const y = await fuser.runPlanar({
    width: c.w,
    height: c.h,
    ir: c.ir,
    vi: hwcToChw(c.vi, c.h, c.w, viChannels(fuser.config)),
    mask: c.mask,
    text: c.text,
  });
  return chwToHwc(y, c.h, c.w, outChannels(fuser.config));
}
