/**
 * The ONNX fusion path against the tfjs one on the bundled sample pairs (network outputs within
 * 1e-4, fused 8-bit images within one grey level), and the CLI: `tesg export` (with its parity
 * check) and `tesg fuse --method tesg --backend onnx|tfjs` through the real SIG default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/model/tfjs.js';
import { initBackend } from '../src/runtime/backend.js';
import { TesgModel } from '../src/model/model.js';
import { buildOnnxModel } from '../src/export/export.js';
import { OnnxFuser } from '../src/export/onnx-fuse.js';
import { chwToHwc, cropChw, hwcToChw } from '../src/export/layout.js';
import { readImage } from '../src/image/read.js';
import { writeImage } from '../src/image/write.js';
import type { Image8 } from '../src/image/types.js';
import { LexiconEncoder } from '../src/semantics/lexicon-encoder.js';
import { TINY } from './helpers/model-fixtures.js';
import { maxAbsDiff, tmp } from './helpers/export-parity.js';
import { assertOneLineError, ROOT, tesg } from './helpers/cli.js';

// The tfjs side runs where `tesg fuse --backend tfjs` runs it: the wasm backend (XNNPACK).
await initBackend('wasm');
const sample = (kind: 'ir' | 'vi', stem: string) => path.join(ROOT, 'samples', 'msrs', kind, `${stem}.png`);

function crop(img: Image8, x: number, y: number, w: number, h: number): Image8 {
  const data = new Uint8Array(w * h * img.channels);
  for (let r = 0; r < h; r++) data.set(img.data.subarray(((y + r) * img.width + x) * img.channels, ((y + r) * img.width + x + w) * img.channels), r * w * img.channels);
  return { width: w, height: h, channels: img.channels, data };
}

test('sample pairs 01102N and 00537D (160x120 crops), default config, tfjs-wasm vs onnxruntime: network within 1e-4, predict within 1 grey level', async () => {
  const model = TesgModel.create({}, 5);
  const file = path.join(tmp, 'samples.onnx');
  writeFileSync(file, buildOnnxModel(model.config, await model.params.toArrays()).bytes);
  const fuser = await OnnxFuser.load(file, { threads: 2 });
  const text = new LexiconEncoder().encodeSync('a night road with a person and a car');
  try {
    for (const stem of ['01102N', '00537D']) {
      const [w, h] = [160, 120];
      const ir = crop(await readImage(sample('ir', stem)), 240, 180, w, h);
      const vi = crop(await readImage(sample('vi', stem)), 240, 180, w, h);
      const mask = { width: w, height: h, data: Uint8Array.from({ length: w * h }, (_, i) => (i % w > 60 && i % w < 100 ? 1 : 0)) };
      // The network alone, float outputs.
      const irP = hwcToChw(ir.data, h, w, ir.channels, 1 / 255).slice(0, w * h);
      const viP = hwcToChw(vi.data, h, w, 3, 1 / 255);
      const maskP = Float32Array.from(mask.data);
      const got = await fuser.runPlanar({ width: w, height: h, ir: irP, vi: viP, mask: maskP, text });
      const ref = tf.tidy(
        () =>
          model
            .forward({
              ir: tf.tensor4d(irP, [1, h, w, 1]),
              vi: tf.tensor4d(chwToHwc(viP, h, w, 3), [1, h, w, 3]),
              mask: tf.tensor4d(maskP, [1, h, w, 1]),
              text: tf.tensor3d(text, [1, 77, 64]),
            })
            .dataSync() as Float32Array,
      );
      const d = maxAbsDiff(got, ref);
      assert.ok(d < 1e-4, `${stem}: network max abs diff ${d}`);
      // The whole predict (pre-processing, colour), 8-bit: rounding may flip at most one level.
      const input = { ir, vi, mask, embedding: text, textEncoderId: model.config.text_encoder };
      const a = await fuser.predict(input);
      const b = await model.predict(input);
      assert.equal(a.channels, 3);
      assert.ok(maxAbsDiff(a.data, b.data) <= 1, `${stem}: predict differs by ${maxAbsDiff(a.data, b.data)} levels`);
    }
  } finally {
    await fuser.release();
    model.dispose();
  }
});

test('crop helper sanity: cropChw of a planar image = planar of the crop', () => {
  const img: Image8 = { width: 4, height: 3, channels: 1, data: Uint8Array.from({ length: 12 }, (_, i) => i) };
  const planar = hwcToChw(img.data, 3, 4, 1);
  assert.deepEqual([...cropChw(planar, 3, 4, 1, { x: 1, y: 1, width: 2, height: 2 })], [5, 6, 9, 10]);
  assert.deepEqual([...crop(img, 1, 1, 2, 2).data], [5, 6, 9, 10]);
});

test('CLI: tesg export writes a checked model; tesg fuse --method tesg gives the same image on onnx and tfjs', async () => {
  const weights = path.join(tmp, 'cli', 'tiny.safetensors');
  const model = TesgModel.create(TINY, 3);
  await model.save(weights);
  model.dispose();
  const exp = await tesg('export', '--weights', weights);
  assert.equal(exp.code, 0, exp.stderr);
  assert.match(exp.stdout, /wrote .*tiny\.onnx \(opset 17, \d+ nodes/);
  assert.match(exp.stdout, /checked: max \|onnx - tfjs\| = /);
  assert.ok(existsSync(path.join(tmp, 'cli', 'tiny.onnx')));

  // A 64x48 crop of a sample pair, through the real SIG default.
  const [ir, vi] = [path.join(tmp, 'cli', 'ir.png'), path.join(tmp, 'cli', 'vi.png')];
  await writeImage(ir, crop(await readImage(sample('ir', '01102N')), 300, 200, 64, 48));
  await writeImage(vi, crop(await readImage(sample('vi', '01102N')), 300, 200, 64, 48));
  const outs: Image8[] = [];
  for (const backend of ['onnx', 'tfjs']) {
    const out = path.join(tmp, 'cli', `fused-${backend}.png`);
    const r = await tesg('fuse', ir, vi, '-o', out, '--method', 'tesg', '--weights', weights, '--backend', backend, '--threads', '1');
    assert.equal(r.code, 0, r.stderr);
    outs.push(await readImage(out));
  }
  assert.equal(outs[0].width, 64);
  assert.ok(maxAbsDiff(outs[0].data, outs[1].data) <= 1, `onnx vs tfjs: ${maxAbsDiff(outs[0].data, outs[1].data)} levels`);

  const missing = await tesg('fuse', ir, vi, '-o', path.join(tmp, 'cli', 'x.png'), '--method', 'tesg', '--weights', path.join(tmp, 'none.safetensors'), '--backend', 'onnx');
  assertOneLineError(missing, /none\.onnx.*no exported model beside the weights; run `tesg export/);
});
