/**
 * The ONNX captioner on the tiny Markov-chain export of test/fixtures/onnx/tiny-captioner.ts.
 * Expected captions and probabilities follow from its transition table by hand:
 * greedy takes road (.5) then end (.3): p = .15; beam search finds car (.4) then end (.9): p = .36.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Image8 } from '../src/image/types.js';
import { OnnxCaptioner } from '../src/semantics/caption/captioner.js';
import { readPreprocess, toPixelValues } from '../src/semantics/caption/preprocess.js';
import { beamSearch, greedySearch, type StepFn } from '../src/semantics/caption/search.js';
import { writeTinyCaptioner, type TinyCaptionerOptions } from './fixtures/onnx/tiny-captioner.js';

const root = mkdtempSync(join(tmpdir(), 'tesg-cap-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const folder = (o: TinyCaptionerOptions) => writeTinyCaptioner(join(root, `c${n++}`), o);

function solid(rgb: [number, number, number], w = 8, h = 6): Image8 {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { width: w, height: h, channels: 3, data };
}
const DARK = solid([0, 0, 0]); // red mean -1 after normalisation: "person" pushed down
const RED = solid([255, 0, 0]); // red mean +1: "person" logit +5

test('pixel values: resize, rescale 1/255, normalise with mean/std', () => {
  const p = readPreprocess({ size: { height: 2, width: 2 }, image_mean: [0.5, 0.4, 0.3], image_std: [0.5, 0.2, 0.1] }, 'x.json');
  const px = toPixelValues(solid([255, 102, 0], 4, 4), p);
  // (255/255 - .5)/.5 = 1; (102/255 - .4)/.2 = 0; (0 - .3)/.1 = -3
  assert.deepEqual(Array.from(px, (v) => Math.round(v * 1e5) / 1e5), [1, 1, 1, 1, 0, 0, 0, 0, -3, -3, -3, -3]);
  const clip = readPreprocess({ size: { shortest_edge: 2 }, crop_size: { height: 2, width: 2 } }, 'x.json');
  assert.equal(toPixelValues(solid([0, 0, 0], 8, 4), clip).length, 12);
});

test('greedy and beam search differ on a constructed chain, and beam finds the likelier caption', async () => {
  const P: Record<number, number[]> = { 1: [0, 0, 0, 0.5, 0.4, 0.1], 3: [0, 0, 0.3, 0.2, 0.25, 0.25], 4: [0, 0, 0.9, 0.05, 0, 0.05], 5: [0, 0, 0.9, 0.05, 0.05, 0] };
  const step: StepFn = async (prefixes) => prefixes.map((p) => Float32Array.from(P[p[p.length - 1]], (x) => Math.log(x + 1e-9)));
  const o = { startId: 1, eosIds: [2], maxLength: 8, numBeams: 1, lengthPenalty: 1 };
  const g = await greedySearch(step, o);
  assert.deepEqual(g.tokens, [3]);
  assert.ok(Math.abs(Math.exp(g.logProb) - 0.15) < 1e-6);
  const b = await beamSearch(step, { ...o, numBeams: 2 });
  assert.deepEqual(b.tokens, [4]);
  assert.ok(Math.abs(Math.exp(b.logProb) - 0.36) < 1e-6);
});

test('max length stops a caption that never ends', async () => {
  const step: StepFn = async (prefixes) => prefixes.map(() => Float32Array.from([0, 0, -9, 5, 0, 0]));
  const g = await greedySearch(step, { startId: 1, eosIds: [2], maxLength: 5, numBeams: 1, lengthPenalty: 1 });
  assert.deepEqual(g.tokens, [3, 3, 3, 3]);
  const b = await beamSearch(step, { startId: 1, eosIds: [2], maxLength: 5, numBeams: 3, lengthPenalty: 1 });
  assert.equal(b.tokens.length, 4);
});

test('BLIP layout (vocab.txt WordPiece, [DEC] start, [SEP] end): greedy "road", beam "car", image changes the caption', async () => {
  const dir = folder({ layout: 'blip', onnxSubfolder: true });
  const greedy = await OnnxCaptioner.load(dir, { search: 'greedy' });
  assert.equal(greedy.search.startId, 1);
  assert.deepEqual(greedy.search.eosIds, [2]);
  assert.equal(greedy.search.maxLength, 8);
  assert.equal(await greedy.caption(DARK), 'road');
  assert.equal(await greedy.caption(RED), 'person');
  const beam = await OnnxCaptioner.load(dir, { search: 'beam', numBeams: 2 });
  assert.equal(beam.name, 'onnx-caption:beam2');
  const gen = await beam.generate(DARK);
  assert.deepEqual(gen.tokens, [4]);
  assert.equal(await beam.caption(DARK), 'car');
});

test('ViT-GPT2 layout (optimum top-level files, byte-level vocab.json), num_beams from generation_config', async () => {
  const dir = folder({ layout: 'vit-gpt2', numBeams: 2 });
  const cap = await OnnxCaptioner.load(dir);
  assert.equal(cap.search.numBeams, 2);
  assert.equal(await cap.caption(DARK), 'car');
  assert.equal(await (await OnnxCaptioner.load(dir, { search: 'greedy' })).caption(DARK), 'a');
});

test('a merged decoder runs without its cache (use_cache_branch false, empty past)', async () => {
  const cap = await OnnxCaptioner.load(folder({ layout: 'vit-gpt2', merged: true, onnxSubfolder: true }), { search: 'greedy' });
  assert.equal(await cap.caption(RED), 'person');
  assert.equal(await cap.caption(DARK), 'a');
});

test('missing files are named', async () => {
  await assert.rejects(OnnxCaptioner.load(folder({ layout: 'blip', omit: 'preprocessor_config.json' })), (e: Error) => e.name === 'InputError' && e.message.includes('preprocessor_config.json'));
  await assert.rejects(OnnxCaptioner.load(folder({ layout: 'blip', onnxSubfolder: true, omit: 'decoder_model.onnx' })), (e: Error) => e.name === 'InputError' && e.message.includes('decoder_model.onnx') && e.message.includes('missing'));
  await assert.rejects(OnnxCaptioner.load(folder({ layout: 'vit-gpt2', omit: 'encoder_model.onnx' })), (e: Error) => e.name === 'InputError' && e.message.includes('vision_encoder_model.onnx'));
});
