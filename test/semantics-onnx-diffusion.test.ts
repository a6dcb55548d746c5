/**
 * The Stable Diffusion ONNX mask and text-embedding providers, run with onnxruntime-node on the
 * tiny export written by test/fixtures/onnx/tiny-sd.ts. Reference numbers: the alphabar values
 * were computed with numpy (float64: np.cumprod(1 - np.linspace(b0**.5, b1**.5, N)**2)), the
 * 3-step schedule and the noise difference by hand (formulas in the comments).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Image8 } from '../src/image/types.js';
import { binarize, normalizeDifference, otsuThreshold } from '../src/semantics/diffusion/delta.js';
import { NoiseDifferenceMasks, noiseSeed } from '../src/semantics/diffusion/noise-mask.js';
import { SeededNormal } from '../src/semantics/diffusion/rng.js';
import { addNoise, alphasCumprod, SD_SCHEDULE, timestepForStrength } from '../src/semantics/diffusion/schedule.js';
import { resolveSdFolder } from '../src/semantics/diffusion/sd-folder.js';
import { SdTextEncoder } from '../src/semantics/diffusion/text-encoder.js';
import { writeTinySd, type TinySdOptions } from './fixtures/onnx/tiny-sd.js';

// A 64 x 32 image with long side 64 gives 64 x 32 samples and 8 x 4 latents.
const LATENT = { latentH: 4, latentW: 8 };
const FAST = { draws: 3, longSide: 64 };
const root = mkdtempSync(join(tmpdir(), 'tesg-sd-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function sd(o: Partial<TinySdOptions> = {}): string {
  return writeTinySd(join(root, `sd${n++}`), { ...LATENT, ...o });
}

function uniform(width: number, height: number, rgb: [number, number, number]): Image8 {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, channels: 3, data };
}

let standard: string;
before(() => {
  standard = sd({ scalingFactor: 0.5 });
});

test('alphabar: hand-computed 3-step scaled_linear schedule and numpy values for SD 1.x', () => {
  // sqrt betas linspace(0.1, 0.2, 3) = .1, .15, .2 -> betas .01, .0225, .04
  const ab = alphasCumprod({ betaStart: 0.01, betaEnd: 0.04, betaSchedule: 'scaled_linear', numTrainTimesteps: 3 });
  assert.ok(Math.abs(ab[0] - 0.99) < 1e-15);
  assert.ok(Math.abs(ab[1] - 0.99 * 0.9775) < 1e-15);
  assert.ok(Math.abs(ab[2] - 0.99 * 0.9775 * 0.96) < 1e-15);
  const sdAb = alphasCumprod(SD_SCHEDULE);
  const ref: Array<[number, number]> = [[0, 0.99915], [250, 0.6737926252333215], [500, 0.2763326838229746], [999, 0.004660098513077238]];
  for (const [t, v] of ref) assert.ok(Math.abs(sdAb[t] - v) < 1e-12 * Math.max(1, v), `t=${t}: ${sdAb[t]} vs ${v}`);
  const linear = alphasCumprod({ betaStart: 0.0001, betaEnd: 0.02, betaSchedule: 'linear', numTrainTimesteps: 1000 });
  assert.ok(Math.abs(linear[500] - 0.07779665836502389) < 1e-12);
  const cosine = alphasCumprod({ betaStart: 0, betaEnd: 0, betaSchedule: 'squaredcos_cap_v2', numTrainTimesteps: 1000 });
  assert.ok(Math.abs(cosine[500] - 0.49228517244880304) < 1e-12);
});

test('strength -> timestep and the forward noising step', () => {
  assert.equal(timestepForStrength(0.5, 1000), 500);
  assert.equal(timestepForStrength(1, 1000), 999);
  assert.equal(timestepForStrength(0, 1000), 0);
  assert.equal(timestepForStrength(0.3337, 1000), 334);
  assert.throws(() => timestepForStrength(1.5, 1000), RangeError);
  // sqrt(.36) = .6, sqrt(.64) = .8: .6*1 + .8*.5 = 1.0; .6*-2 + .8*1 = -0.4
  const xt = addNoise(Float32Array.from([1, -2]), Float32Array.from([0.5, 1]), 0.36);
  assert.ok(Math.abs(xt[0] - 1.0) < 1e-6 && Math.abs(xt[1] + 0.4) < 1e-6);
});

test('seeded normals: reproducible, seed-dependent, standard moments', () => {
  assert.deepEqual(new SeededNormal(7).fill(16), new SeededNormal(7).fill(16));
  assert.notDeepEqual(new SeededNormal(7).fill(16), new SeededNormal(8).fill(16));
  const x = new SeededNormal(1).fill(200000);
  let s = 0;
  let s2 = 0;
  for (const v of x) {
    s += v;
    s2 += v * v;
  }
  const mean = s / x.length;
  const sd2 = s2 / x.length - mean * mean;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(sd2) - 1) < 0.01, `sd ${Math.sqrt(sd2)}`);
});

test('Delta: DiffEdit clamp-and-threshold, max fraction and Otsu on constructed maps', () => {
  const map = Float32Array.from([0, 1, 2, 3, 4, 10]); // mean 10/3
  // ratio 3: clamp at 10 -> [0 .1 .2 .3 .4 1]; > .5 only the last
  const d3 = normalizeDifference(map, { method: 'diffedit', ratio: 3, threshold: 0.5 });
  assert.deepEqual(Array.from(binarize(d3, { method: 'diffedit', ratio: 3, threshold: 0.5 })), [0, 0, 0, 0, 0, 1]);
  // ratio 1: clamp at 10/3 -> [0 .3 .6 .9 1 1]
  const d1 = normalizeDifference(map, { method: 'diffedit', ratio: 1, threshold: 0.5 });
  assert.ok(Math.abs(d1[2] - 0.6) < 1e-6);
  assert.deepEqual(Array.from(binarize(d1, { method: 'diffedit', ratio: 1, threshold: 0.5 })), [0, 0, 1, 1, 1, 1]);
  const dm = normalizeDifference(map, { method: 'max', fraction: 0.25 });
  assert.deepEqual(Array.from(binarize(dm, { method: 'max', fraction: 0.25 })), [0, 0, 0, 1, 1, 1]);
  const bimodal = Float32Array.from([...new Array(50).fill(0.1), ...new Array(50).fill(0.9)]);
  const t = otsuThreshold(bimodal);
  assert.ok(t > 0.1 && t < 0.9, `otsu ${t}`);
  assert.equal(binarize(bimodal, { method: 'otsu' }).reduce((a, b) => a + b, 0), 50);
  const zero = normalizeDifference(new Float32Array(4), { method: 'diffedit', ratio: 3, threshold: 0.5 });
  assert.deepEqual(Array.from(zero), [0, 0, 0, 0]); // no NaN from 0/0
});

test('a folder missing a file names it', () => {
  for (const rel of ['unet/model.onnx', 'tokenizer/merges.txt', 'scheduler/scheduler_config.json']) {
    const dir = sd({ omit: rel });
    assert.throws(() => resolveSdFolder(dir), (e: Error) => e.name === 'InputError' && e.message.startsWith(join(dir, rel)) && e.message.includes('missing'));
  }
});

test('text encoder: input_ids dtype read from the model (int32 and int64), id and shape from the output', async () => {
  for (const idsType of ['int32', 'int64'] as const) {
    const dir = sd({ idsType });
    const enc = await SdTextEncoder.load(resolveSdFolder(dir));
    assert.equal(enc.id, `sd-onnx:${basename(dir)}:77x4`);
    assert.equal(enc.tokens, 77);
    assert.equal(enc.dim, 4);
    const e = await enc.encode('car and road'); // bos car and road eos pad...: rows 1..3 are word tokens
    assert.equal(e.length, 77 * 4);
    assert.deepEqual(Array.from(e.subarray(0, 20)), [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    assert.equal(e.reduce((a, b) => a + b, 0), 12);
    await enc.release();
  }
});

test('a unet without encoder_hidden_states, or with an input the pipeline does not know, is refused by name', async () => {
  await assert.rejects(NoiseDifferenceMasks.load(sd({ unetWithoutText: true }), FAST), (e: Error) => e.name === 'InputError' && /unet[/\\]model\.onnx: model has no input 'encoder_hidden_states'/.test(e.message));
  const masks = await NoiseDifferenceMasks.load(sd({ unetExtraInput: 'text_embeds' }), FAST);
  await assert.rejects(masks.differenceMap(uniform(64, 32, [200, 100, 50]), 'car road', 'road'), (e: Error) => e.name === 'InputError' && e.message.includes('missing inputs: text_embeds'));
});

/**
 * The map by hand: z0 = s * (R', G', B', mean) with X' = X/127.5 - 1 (uniform image, so pooling
 * changes nothing); x_t = sqrt(ab) z0 + sqrt(1-ab) eps; the tiny unet gives
 * eps_T - eps_T^ = W (m_T - m_T^) x_t with m = (#word tokens)/77, so
 * map = W |m_T - m_T^| mean_{c, draws} |x_t|.
 */
function handMap(rgb: [number, number, number], scale: number, seed: number, stream: number, draws: number, strength: number, wordsT: number, wordsHat: number): Float32Array {
  const [r, g, b] = rgb.map((v) => v / 127.5 - 1);
  const z = [r, g, b, (r + g + b) / 3].map((v) => v * scale);
  const { latentH: h, latentW: w } = LATENT;
  const z0 = new Float32Array(4 * h * w);
  for (let c = 0; c < 4; c++) z0.fill(z[c], c * h * w, (c + 1) * h * w);
  const ab = alphasCumprod(SD_SCHEDULE)[timestepForStrength(strength, 1000)];
  const rng = new SeededNormal(noiseSeed(seed, stream));
  const map = new Float32Array(h * w);
  const dm = Math.abs(wordsT - wordsHat) / 77;
  for (let d = 0; d < draws; d++) {
    const xt = addNoise(z0, rng.fill(4 * h * w), ab);
    for (let c = 0; c < 4; c++) for (let i = 0; i < h * w; i++) map[i] += ((i % w < w / 2 ? 1 : 0) * dm * Math.abs(xt[c * h * w + i])) / (4 * draws);
  }
  return map;
}

function assertClose(a: Float32Array, b: Float32Array, rel: number): void {
  assert.equal(a.length, b.length);
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= rel * scale, `at ${i}: ${a[i]} vs ${b[i]}`);
}

test('noise difference equals the hand computation (VAE mean, scaling factor, DDIM noising, draws)', async () => {
  const masks = await NoiseDifferenceMasks.load(standard, { ...FAST, seed: 11, strength: 0.5 });
  assert.equal(masks.timestep, 500);
  const img = uniform(64, 32, [200, 100, 50]);
  const got = await masks.differenceMap(img, 'car road', 'road', 0);
  assert.equal(got.height, 4);
  assert.equal(got.width, 8);
  assertClose(got.map, handMap([200, 100, 50], 0.5, 11, 0, 3, 0.5, 2, 1), 1e-5);
  assert.ok(got.map[0] > 0 && got.map[7] === 0);
  // strength 0.25 -> t = 250, another alphabar: the hand formula follows
  const quarter = await NoiseDifferenceMasks.load(standard, { ...FAST, seed: 11, strength: 0.25 });
  assertClose((await quarter.differenceMap(img, 'person and car road', 'and road', 0)).map, handMap([200, 100, 50], 0.5, 11, 0, 3, 0.25, 4, 2), 1e-5);
});

test('latent_sample exports, float timesteps, default scaling 0.18215 and a fixed batch of 1 give the same arithmetic', async () => {
  const dir = sd({ vaeOutput: 'latent_sample', timestepType: 'float32', unetBatch: 1 });
  const masks = await NoiseDifferenceMasks.load(dir, { ...FAST, seed: 3 });
  const got = await masks.differenceMap(uniform(64, 32, [10, 240, 128]), 'car road', 'road', 1);
  assertClose(got.map, handMap([10, 240, 128], 0.18215, 3, 1, 3, 0.5, 2, 1), 1e-5);
});

test('the mask lights up where the unet makes the text matter, at image size', async () => {
  // DiffEdit's 10 draws: fewer leave pixel-to-pixel noise in |x_t| that the threshold can cut.
  const masks = await NoiseDifferenceMasks.load(standard, { longSide: 64, draws: 10 });
  const vi = uniform(64, 32, [90, 120, 60]);
  const ir: Image8 = { width: 64, height: 32, channels: 1, data: new Uint8Array(64 * 32).fill(170) };
  const { vis, ir: mir } = await masks.masks({ vi, ir, caption: 'a car on the road', captionWithout: 'a on the road', keywords: ['car'] });
  for (const m of [vis, mir]) {
    assert.equal(m.width, 64);
    assert.equal(m.height, 32);
    let left = 0;
    let right = 0;
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 64; x++) {
        if (x < 24) left += m.data[y * 64 + x];
        if (x >= 36) right += m.data[y * 64 + x];
      }
    }
    assert.equal(left, 24 * 32, 'left part (W = 1) all in the mask');
    assert.equal(right, 0, 'right part (W = 0) all out');
  }
});

test('seeding: same seed same map, another seed another map, VI and IR streams differ', async () => {
  const img = uniform(64, 32, [200, 30, 90]);
  const a = await NoiseDifferenceMasks.load(standard, { ...FAST, seed: 5 });
  const b = await NoiseDifferenceMasks.load(standard, { ...FAST, seed: 6 });
  const m1 = await a.mask(img, 'car road', 'road', 0);
  const m2 = await a.mask(img, 'car road', 'road', 0);
  assert.deepEqual(m1.normalized, m2.normalized);
  const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((acc, v, i) => Math.max(acc, Math.abs(v - y[i])), 0);
  assert.ok(maxDiff(m1.normalized, (await b.mask(img, 'car road', 'road', 0)).normalized) > 1e-3);
  assert.ok(maxDiff(m1.normalized, (await a.mask(img, 'car road', 'road', 1)).normalized) > 1e-3);
});

test('no keyword removed (T^ = T): an empty mask, not amplified noise', async () => {
  const masks = await NoiseDifferenceMasks.load(standard, FAST);
  const m = await masks.mask(uniform(64, 32, [1, 2, 3]), 'a road', 'a road');
  assert.equal(m.mask.data.reduce((s, v) => s + v, 0), 0);
});

test('options are validated', async () => {
  await assert.rejects(NoiseDifferenceMasks.load(standard, { strength: 2 }), RangeError);
  await assert.rejects(NoiseDifferenceMasks.load(standard, { draws: 0 }), RangeError);
  await assert.rejects(NoiseDifferenceMasks.load(standard, { binarize: { method: 'diffedit', ratio: 3, threshold: 1.5 } }), RangeError);
});
