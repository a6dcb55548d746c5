/**
 * SIG v2 (issue 12): warm-object segmentation of IR (src/semantics/warm-objects.ts), the instance /
 * pixel scoring of masks against label images (src/semantics/mask-score.ts), the ThermalSig provider
 * on a real night pair, and which SIG version `tesg fuse` runs for a weights file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Image8 } from '../src/image/types.js';
import { readImage } from '../src/image/read.js';
import { localContrast, warmObjects } from '../src/semantics/warm-objects.js';
import { emptyInstanceTally, pixelScores, tallyInstances, tallyPixels } from '../src/semantics/mask-score.js';
import { defaultProviders, runSig, sigVersionOfMasker } from '../src/semantics/sig.js';
import { THERMAL_SIG_ID } from '../src/semantics/thermal-provider.js';
import { trainedSigVersion, DEFAULT_WEIGHTS_FILE } from '../src/fusion/tesg-method.js';
import { writeTensorFile } from '../src/model/safetensors.js';

const W = 200, H = 160;

/** A gray IR image: a horizontal gradient background (40..79) with warm rectangles painted on it. */
function scene(rects: Array<[x: number, y: number, w: number, h: number, level: number]>): Image8 {
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = 40 + Math.floor((x * 40) / W);
  for (const [x0, y0, w, h, v] of rects) for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) data[y * W + x] = v;
  return { width: W, height: H, channels: 1, data };
}

test('localContrast equals a brute-force box mean over the clipped window', () => {
  const w = 23, h = 17, v = new Uint8Array(w * h).map((_, i) => (i * 97 + 13) % 256);
  const c = localContrast(v, w, h, 7);
  for (const [x, y] of [[0, 0], [5, 9], [22, 16], [11, 3]]) {
    let s = 0, n = 0;
    for (let yy = Math.max(0, y - 3); yy <= Math.min(h - 1, y + 3); yy++) for (let xx = Math.max(0, x - 3); xx <= Math.min(w - 1, x + 3); xx++) {
      s += v[yy * w + xx];
      n++;
    }
    assert.ok(Math.abs(c[y * w + x] - (v[y * w + x] - s / n)) < 1e-4, `(${x},${y})`);
  }
});

test('warmObjects: a tall warm blob is a person, a wide one a car; poles, specks, faint and top-touching blobs are dropped', () => {
  const ir = scene([
    [30, 80, 10, 30, 160], // person: 10x30, aspect 3
    [100, 100, 30, 14, 170], // car: 30x14, aspect 0.47
    [170, 60, 2, 60, 200], // pole: aspect 30 > maxAspect
    [60, 140, 3, 3, 220], // speck: 9 px < minArea
    [150, 120, 10, 20, 70], // faint: ~10 levels over its surroundings
    [80, 0, 12, 30, 200], // touches the top border
  ]);
  const out = { width: W, height: H, data: new Uint8Array(W * H) };
  const found = warmObjects(ir, { window: 61, minContrast: 28 }, out);
  assert.deepEqual(
    found.map((o) => [o.label, o.x1, o.y1, o.x2, o.y2, o.area]),
    [
      ['car', 100, 100, 130, 114, 420],
      ['person', 30, 80, 40, 110, 300],
    ],
  );
  let painted = 0;
  for (const v of out.data) painted += v;
  assert.equal(painted, 720);
  assert.equal(out.data[90 * W + 35], 1);
  assert.equal(out.data[70 * W + 171], 0);
});

test('instance and pixel scores of a mask against a label image (hand-counted)', () => {
  const w = 20, h = 10, label = new Uint8Array(w * h), m = new Uint8Array(w * h);
  const fill = (a: Uint8Array, x0: number, y0: number, x1: number, y1: number, v: number) => {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) a[y * w + x] = v;
  };
  fill(label, 0, 0, 5, 8, 2); // person, 40 px
  fill(label, 10, 0, 15, 5, 2); // person, 25 px: under 30, not an object (its pixels still count)
  fill(label, 14, 6, 20, 10, 1); // car, 24 px: under 30
  fill(label, 6, 0, 9, 10, 3); // bike, 30 px
  fill(m, 0, 0, 5, 4, 1); // half the first person: found (>= 0.5)
  fill(m, 6, 0, 9, 4, 1); // 12 of 30 bike pixels: not found
  fill(m, 16, 0, 20, 2, 1); // 8 background pixels
  const t = emptyInstanceTally();
  tallyInstances(t, { width: w, height: h, data: m }, label);
  assert.deepEqual(t.objects, { person: 1, car: 0, bike: 1 });
  assert.deepEqual(t.found, { person: 1, car: 0, bike: 0 });
  const px = { tp: 0, maskPx: 0, keyPx: 0 };
  tallyPixels(px, { width: w, height: h, data: m }, label);
  assert.deepEqual(px, { tp: 32, maskPx: 40, keyPx: 119 });
  assert.deepEqual(pixelScores(px), { recall: 32 / 119, precision: 0.8 });
});

const NIGHT = '01102N';
const LABEL = path.join('..', 'shared', 'data', 'msrs', 'test', 'label', `${NIGHT}.png`);

test('ThermalSig on a real night pair: finds more labelled objects than SIG v1, and names IR-only people', { skip: existsSync(LABEL) ? false : 'needs ../shared/data' }, async () => {
  const ir = await readImage(`samples/msrs/ir/${NIGHT}.png`), vi = await readImage(`samples/msrs/vi/${NIGHT}.png`);
  const label = await readImage(LABEL);
  const v1 = defaultProviders({ version: 'v1' }), v2 = defaultProviders({ version: 'v2' });
  try {
    assert.equal(v2.masker.name, THERMAL_SIG_ID);
    const found = async (p: typeof v1) => {
      const r = await runSig({ ir: { ...ir }, vi: { ...vi }, providers: p });
      const t = emptyInstanceTally();
      tallyInstances(t, r.mask, label.data, label.channels);
      return { r, n: t.found.person + t.found.car + t.found.bike, of: t.objects.person + t.objects.car + t.objects.bike };
    };
    const a = await found(v1), b = await found(v2);
    assert.ok(b.n > a.n, `v2 finds ${b.n} of ${b.of} objects, v1 ${a.n}`);
    assert.ok(b.r.keywords.includes('person') && b.r.keywords.includes('car'), b.r.caption);
    // A black VI (lens cap): everything is found in IR only, and is still named in T and V*.
    const dark = { ...vi, data: new Uint8Array(vi.data.length) };
    const r = await runSig({ ir: { ...ir }, vi: dark, providers: v2 });
    assert.match(r.caption, /^a night road scene with .*persons?/);
    assert.ok(r.keywords.includes('person'));
    let m = 0;
    for (const v of r.mask.data) m += v;
    assert.ok(m > 2000, `M from IR alone has ${m} px`);
  } finally {
    for (const p of [v1, v2]) await (p.masker as unknown as { dispose(): Promise<void> }).dispose();
  }
});

test('tesg fuse runs the SIG a model was trained with: v3 for the shipped default (tesg-v2.2), v2 for tesg-v2.1, v1 for tesg-v1 (no record), v2 for a v2-trained file', async () => {
  assert.equal(await trainedSigVersion(DEFAULT_WEIGHTS_FILE), 'v3');
  assert.equal(await trainedSigVersion(path.join(path.dirname(DEFAULT_WEIGHTS_FILE), 'tesg-v2.1', 'tesg.safetensors')), 'v2');
  assert.equal(await trainedSigVersion(path.join(path.dirname(DEFAULT_WEIGHTS_FILE), 'tesg-v1', 'tesg.safetensors')), 'v1');
  assert.equal(sigVersionOfMasker(THERMAL_SIG_ID), 'v2');
  assert.equal(sigVersionOfMasker('onnx-sd:whatever'), undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tesg-sigver-'));
  const file = path.join(dir, 'w.safetensors');
  const header = { version: 1, textEncoderId: 'x', tokens: 1, dim: 1, captioner: THERMAL_SIG_ID, masker: THERMAL_SIG_ID };
  await writeTensorFile(file, { tensors: new Map([['a', { shape: [1], data: new Float32Array([1]) }]]), metadata: { tesg_sig: JSON.stringify({ header }) } });
  assert.equal(await trainedSigVersion(file), 'v2');
});
