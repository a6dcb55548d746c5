/**
 * The whole network exported to ONNX against the tfjs model on tfjs-cpu: random weights, tiny
 * configs covering every switch, and the default config; one file serving several sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/model/tfjs.js';
import { TesgModel } from '../src/model/model.js';
import type { ModelConfig } from '../src/model/config.js';
import { viChannels } from '../src/model/config.js';
import { outChannels } from '../src/model/network.js';
import { buildOnnxModel } from '../src/export/export.js';
import { OnnxFuser } from '../src/export/onnx-fuse.js';
import { chwToHwc, hwcToChw } from '../src/export/layout.js';
import { randomFloats, TINY } from './helpers/model-fixtures.js';
import { maxAbsDiff, tmp } from './helpers/export-parity.js';

await tf.setBackend('cpu');

interface Case {
  w: number;
  h: number;
  ir: Float32Array;
  vi: Float32Array;
  mask: Float32Array;
  text: Float32Array;
}

/** Random 0..1 images (NHWC), a blocky binary mask, a random F_t. */
function randomCase(cfg: ModelConfig, w: number, h: number, seed: number): Case {
  const u = (n: number, s: number) => Float32Array.from(randomFloats(n, s), (v) => (v + 1) / 2);
  const mask = Float32Array.from({ length: w * h }, (_, i) => ((i % w) > w / 3 && Math.floor(i / w) < h / 2 ? 1 : 0));
  return { w, h, ir: u(w * h, seed), vi: u(w * h * viChannels(cfg), seed + 1), mask, text: randomFloats(cfg.text_tokens * cfg.text_dim, seed + 2, 0.5) };
}

function tfjsForward(model: TesgModel, c: Case): Float32Array {
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

async function exportModel(model: TesgModel, name: string): Promise<OnnxFuser> {
  const file = path.join(tmp, `${name}.onnx`);
  writeFileSync(file, buildOnnxModel(model.config, await model.params.toArrays()).bytes);
  return OnnxFuser.load(file, { threads: 1 });
}

async function onnxForward(fuser: OnnxFuser, c: Case): Promise<Float32Array> {
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

const VARIANTS: Array<[string, Partial<ModelConfig>]> = [
  ['tiny default switches', {}],
  ['masks on images', { mask_on: 'image' }],
  ['no MGCA', { use_mgca: false }],
  ['no TIVR, no GAF', { use_tivr: false, use_gaf: false }],
  ['bias, BiasFree LN, 1 head', { bias: true, layer_norm: 'bias_free', heads: 1 }],
  ['Y input, RGB output', { vi_input: 'y', output: 'rgb' }],
];

for (const [label, overrides] of VARIANTS) {
  test(`tiny network (${label}): ONNX = tfjs within 1e-4 on 13x9`, async () => {
    const model = TesgModel.create({ ...TINY, ...overrides }, 7);
    const fuser = await exportModel(model, label.replace(/\W+/g, '-'));
    try {
      const c = randomCase(model.config, 13, 9, 3);
      const ref = tfjsForward(model, c);
      const got = await onnxForward(fuser, c);
      const d = maxAbsDiff(got, ref);
      assert.ok(d < 1e-4, `max abs diff ${d}`);
      assert.ok(Math.max(...ref) - Math.min(...ref) > 1e-3, 'output is constant');
    } finally {
      await fuser.release();
      model.dispose();
    }
  });
}

test('default config, random weights: ONNX = tfjs within 1e-4; one file serves 40x32 and 23x17', async () => {
  const model = TesgModel.create({}, 11);
  const fuser = await exportModel(model, 'default');
  try {
    for (const [w, h] of [[40, 32], [23, 17]]) {
      const c = randomCase(model.config, w, h, w);
      const d = maxAbsDiff(await onnxForward(fuser, c), tfjsForward(model, c));
      assert.ok(d < 1e-4, `${w}x${h}: max abs diff ${d}`);
    }
  } finally {
    await fuser.release();
    model.dispose();
  }
});
