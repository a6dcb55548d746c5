/**
 * The whole network exported to ONNX against the tfjs model on tfjs-cpu: random weights, tiny
 * configs covering every switch, and the default config; one file serving several sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/model/tfjs.js';
import { TesgModel } from '../src/model/model.js';
import type { ModelConfig } from '../src/model/config.js';
import { TINY } from './helpers/model-fixtures.js';
import { maxAbsDiff } from './helpers/export-parity.js';
import { exportModel, onnxForward, randomCase, tfjsForward } from './helpers/export-network.js';

await tf.setBackend('cpu');

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
