/**
 * The built-in SIG default on the bundled MSRS samples: the COCO detector against the samples'
 * labelled boxes, object-shaped masks, eq. 3's union, user control, and the pipeline's outputs.
 * One detector is loaded for the file (a few hundred ms per image on tfjs-wasm).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readImage } from '../src/image/read.js';
import type { Image8 } from '../src/image/types.js';
import { boxIou, CenterNetDetector, type Detection } from '../src/semantics/detector.js';
import { DetectorSig } from '../src/semantics/default-provider.js';
import { LexiconEncoder } from '../src/semantics/lexicon-encoder.js';
import { backgroundDistance, emptyMask, otsuThreshold, refineBox, unionMask } from '../src/semantics/mask-refine.js';
import { runSig, type SigProviders } from '../src/semantics/sig.js';
import { MismatchError, UsageError } from '../src/errors.js';

/** YOLO boxes (class cx cy w h) of ../shared/data/msrs/test/detection/<stem>.txt; 0 person, 1 bicycle, 2 car. */
const YOLO: Record<string, number[][]> = {
  '00537D': [
    [0, 0.6043911637931034, 0.4757543103448276, 0.10910560344827588, 0.33584770114942547],
    [0, 0.8266433189655172, 0.478448275862069, 0.1171875, 0.3448275862068967],
    [1, 0.6026785714285714, 0.5634920634920635, 0.0833333333333333, 0.22619047619047628],
    [1, 0.8191964285714286, 0.5555555555555555, 0.09970238095238111, 0.2420634920634921],
  ],
  '01102N': [
    [0, 0.7902747844827587, 0.4973060344827587, 0.03906250000000009, 0.1634339080459771],
    [0, 0.6286368534482759, 0.4824892241379311, 0.03434806034482758, 0.1248204022988506],
    [0, 0.6067483836206897, 0.4833872126436782, 0.0350215517241379, 0.1248204022988506],
    [0, 0.48114224137931033, 0.5125718390804598, 0.03569504310344831, 0.1472701149425287],
    [0, 0.27797965116279066, 0.4881298449612403, 0.04118217054263562, 0.11062661498708005],
    [0, 0.21560077519379844, 0.4953972868217054, 0.03754844961240311, 0.1477713178294574],
    [0, 0.19834060077519378, 0.4828811369509044, 0.029675387596899205, 0.12435400516795862],
    [0, 0.23558624031007752, 0.48611111111111105, 0.03270348837209305, 0.1130490956072352],
    [2, 0.7141702586206897, 0.4694683908045977, 0.14816810344827588, 0.12212643678160925],
    [2, 0.9205897177419355, 0.47323993841988876, 0.155695564516129, 0.1391322065888813],
    [0, 0.060864825581395346, 0.4748062015503876, 0.017562984496124024, 0.05813953488372097],
  ],
};
const CLASS = ['person', 'bicycle', 'car'];
const gtBoxes = (stem: string, label: string) =>
  YOLO[stem].filter((r) => CLASS[r[0]] === label).map(([, cx, cy, w, h]) => ({ x1: (cx - w / 2) * 640, y1: (cy - h / 2) * 480, x2: (cx + w / 2) * 640, y2: (cy + h / 2) * 480 }));
const hits = (gt: ReturnType<typeof gtBoxes>, dets: Detection[], label: string) =>
  gt.filter((g) => dets.some((d) => d.label === label && boxIou(d, g) > 0.5)).length;

const images: Record<string, { vi: Image8; ir: Image8 }> = {};
let sig: DetectorSig;
let providers: SigProviders;

before(async () => {
  for (const stem of ['00537D', '01102N']) {
    images[stem] = { vi: await readImage(`samples/msrs/vi/${stem}.png`), ir: await readImage(`samples/msrs/ir/${stem}.png`) };
  }
  sig = new DetectorSig();
  providers = { captioner: sig, masker: sig, encoder: new LexiconEncoder() };
});
after(async () => sig.dispose());

test('detector: both cyclists of 00537D (persons and bicycles) at IoU > 0.5 against the labelled boxes', async () => {
  const { vi, ir } = images['00537D'];
  const dv = await sig.detections(vi), di = await sig.detections(ir);
  assert.equal(hits(gtBoxes('00537D', 'person'), dv, 'person'), 2, 'persons on VI');
  assert.equal(hits(gtBoxes('00537D', 'bicycle'), dv, 'bicycle'), 2, 'bicycles on VI');
  assert.equal(hits(gtBoxes('00537D', 'person'), di, 'person'), 2, 'persons on IR (gray replicated to RGB)');
});

test('detector: the night sample 01102N (9 labelled persons, 2 cars) gives at least one person and one car at IoU > 0.5', async () => {
  // A COCO detector trained on daylight photos finds few of these small night pedestrians:
  // measured 1 of 9 persons (VI and IR alike) and 1 of 2 cars (VI). This pins that floor.
  const { vi, ir } = images['01102N'];
  const all = [...(await sig.detections(vi)), ...(await sig.detections(ir))];
  assert.ok(hits(gtBoxes('01102N', 'person'), all, 'person') >= 1);
  assert.ok(hits(gtBoxes('01102N', 'car'), all, 'car') >= 1);
});

test('detector: input size keeps the aspect ratio, multiples of 32; no tensors leak across detect', async () => {
  assert.deepEqual(CenterNetDetector.inputSizeFor(640, 480), { w: 640, h: 480 });
  assert.deepEqual(CenterNetDetector.inputSizeFor(1280, 1024), { w: 640, h: 512 });
  assert.deepEqual(CenterNetDetector.inputSizeFor(500, 329), { w: 640, h: 416 });
  const tf = await import('@tensorflow/tfjs-core');
  const det = await CenterNetDetector.load();
  await det.detect(images['00537D'].ir);
  const n = tf.memory().numTensors;
  await det.detect({ ...images['00537D'].ir });
  assert.equal(tf.memory().numTensors, n);
  det.dispose();
});

test('Otsu threshold of a hand-made bimodal histogram', () => {
  const h = new Array(256).fill(0);
  h[40] = 100;
  h[200] = 50;
  const { t, contrast } = otsuThreshold(h);
  assert.ok(t >= 40 && t < 200, `t=${t}`);
  assert.equal(contrast, 160);
});

test('mask refinement: a warm blob in a box gives its shape, not the box; a flat box gives the ellipse', () => {
  // 60x60 IR image, dark (30) with a warm (200) 10x30 "person" at x 25..34, y 15..44; box around it with margin.
  const W = 60, H = 60, data = new Uint8Array(W * H).fill(30);
  for (let y = 15; y < 45; y++) for (let x = 25; x < 35; x++) data[y * W + x] = 200;
  const ir: Image8 = { width: W, height: H, channels: 1, data };
  const box = { x1: 20, y1: 10, x2: 40, y2: 50 };
  const m = emptyMask(W, H);
  assert.equal(refineBox(ir, box, backgroundDistance, m), 'cue');
  let inBlob = 0, outBlob = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    if (!m.data[y * W + x]) continue;
    if (x >= 25 && x < 35 && y >= 15 && y < 45) inBlob++;
    else outBlob++;
  }
  assert.ok(inBlob >= 0.9 * 300, `covers the blob: ${inBlob}/300`);
  assert.ok(outBlob <= 30, `little outside it: ${outBlob} (the box has ${20 * 40 - 300} background pixels)`);
  const flat: Image8 = { width: W, height: H, channels: 1, data: new Uint8Array(W * H).fill(90) };
  const f = emptyMask(W, H);
  assert.equal(refineBox(flat, box, backgroundDistance, f), 'ellipse');
  assert.equal(f.data[30 * W + 30], 1, 'centre in');
  assert.equal(f.data[10 * W + 20], 0, 'box corner out');
});

test('runSig on 00537D: caption, V*, T^, object-shaped masks, M = M_vis U M_ir, F_t', async () => {
  const { vi, ir } = images['00537D'];
  const r = await runSig({ ir, vi, providers });
  // The detector also counts tiny far-away pedestrians (unlabelled in MSRS) and sees one bicycle as a motorcycle too.
  assert.match(r.caption, /^a day road scene with \w+ persons, \w+ bicycles/);
  assert.deepEqual(r.keywords.slice(0, 2), ['person', 'bicycle']);
  assert.equal(r.captionWithout, 'a day road scene');
  assert.equal(r.textEncoderId, 'tesg-lexicon-v1-77x64');
  assert.equal(r.embedding.length, 77 * 64);
  let nv = 0, ni = 0, nm = 0;
  for (let i = 0; i < r.mask.data.length; i++) {
    assert.equal(r.mask.data[i], r.maskVis.data[i] | r.maskIr.data[i]);
    nv += r.maskVis.data[i];
    ni += r.maskIr.data[i];
    nm += r.mask.data[i];
  }
  assert.ok(nm >= Math.max(nv, ni) && nm <= nv + ni);
  // Two cyclists of about 70x160 px: a few percent of the image, less than their boxes.
  assert.ok(nm > 0.02 * 640 * 480 && nm < 0.08 * 640 * 480, `mask share ${nm / (640 * 480)}`);
  const boxArea = gtBoxes('00537D', 'person').reduce((s, b) => s + (b.x2 - b.x1) * (b.y2 - b.y1), 0);
  assert.ok(nv < boxArea * 1.3, 'M_vis is not the bare (person+bicycle) boxes');
});

test('user control: a caption replaces the captioner; keywords choose what the mask covers', async () => {
  const { vi, ir } = images['00537D'];
  const r = await runSig({ ir, vi, providers, caption: 'two cyclists on an empty street', keywords: ['bike'] });
  assert.equal(r.caption, 'two cyclists on an empty street');
  assert.deepEqual(r.keywords, ['bicycle']);
  const full = await runSig({ ir, vi, providers });
  let only = 0, all = 0;
  for (let i = 0; i < r.mask.data.length; i++) {
    only += r.mask.data[i];
    all += full.mask.data[i];
  }
  assert.ok(only > 0 && only < all, `bicycles only (${only}) cover less than persons + bicycles (${all})`);
  const none = await runSig({ ir, vi, providers, keywords: ['bus'] });
  assert.ok(none.mask.data.every((v) => v === 0), 'no bus, empty mask');
  await assert.rejects(runSig({ ir, vi, providers, keywords: ['zeppelin'] }), UsageError);
  await assert.rejects(runSig({ ir: { ...ir, width: 320 }, vi, providers }), MismatchError);
});

test('unionMask is the pixelwise OR', () => {
  const a = { width: 2, height: 2, data: Uint8Array.from([1, 0, 0, 1]) };
  const b = { width: 2, height: 2, data: Uint8Array.from([1, 1, 0, 0]) };
  assert.deepEqual(Array.from(unionMask(a, b).data), [1, 1, 0, 1]);
});
