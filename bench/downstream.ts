/**
 * `npm run bench -- downstream [--reps N]`: cost of the downstream benchmarks on this machine.
 * - detector: CenterNet on one 640x480 MSRS image (median of N, warm), and COCO-style scoring of 50
 *   images' detections;
 * - segmentation network: parameters, MACs per image, forward (tfjs-wasm) and a whole training step
 *   at batch 8, 160x120 on tfjs-wasm and libtorch (1 thread each, alternated, median of N, warm), the
 *   ratio, and the time that implies for the recommended budget.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { readImage } from '../src/image/read.js';
import { ensureGradients } from '../src/model/tfjs.js';
import { initBackend } from '../src/runtime/backend.js';
import { CenterNetDetector } from '../src/semantics/detector.js';
import { mapDetections, readLabelSet, DEFAULT_DETECTION_OPTIONS } from '../src/downstream/detect.js';
import { cocoToMsrs } from '../src/downstream/classes.js';
import { scoreDetections, type ImageDetections } from '../src/downstream/map.js';
import { DEFAULT_SEGNET, initSegParams, initSegWeights, paramCount, segForward } from '../src/downstream/segnet.js';
import { makeSegStepper, type SegBackend } from '../src/downstream/segtrain.js';
import type { SegBatch } from '../src/downstream/segstep.js';
import { loadTorch, torchAvailable, torchUnavailableReason } from '../src/runtime/torch.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeIt(reps: number, f: () => Promise<void> | void): Promise<number> {
  await f(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

/** MACs of the U-Net's convolutions for one H x W image (pooling and resizes ignored). */
function segMacs(h: number, w: number): number {
  const { widths, inChannels, stemStride } = DEFAULT_SEGNET;
  let macs = 0, cin = inChannels;
  const px = (l: number) => Math.ceil(h / stemStride / 2 ** l) * Math.ceil(w / stemStride / 2 ** l);
  widths.forEach((c, l) => { macs += px(l) * 9 * (cin * c + c * c); cin = c; });
  for (let l = widths.length - 2; l >= 0; l--) { macs += px(l) * 9 * ((cin + widths[l]) * widths[l] + widths[l] * widths[l]); cin = widths[l]; }
  return macs + px(0) * cin * DEFAULT_SEGNET.classes;
}

export async function run(args: string[]): Promise<void> {
  const reps = Number(args[args.indexOf('--reps') + 1] ?? 5) || 5;
  const be = await initBackend('wasm');
  await ensureGradients();
  console.log(`backend: tfjs-${be.backend}${be.simd ? ' SIMD' : ''}, ${be.threads} thread; median of ${reps} warm runs`);

  const T = '../shared/data/msrs/test';
  if (existsSync(T)) {
    const det = await CenterNetDetector.load();
    const img = await readImage(`${T}/vi/00103D.png`);
    const classes = Object.keys(cocoToMsrs('merged'));
    const ms = await timeIt(reps, async () => void (await det.detect(img, { minScore: 0.05, classes })));
    console.log(`detector (CenterNet, 640x480 -> 640x480 input): ${ms.toFixed(0)} ms/image`);
    const labels = await readLabelSet(`${T}/detection`);
    const images: ImageDetections[] = [];
    for (const s of labels.stems.slice(0, 50)) {
      const im = await readImage(`${T}/vi/${s}.png`);
      images.push({ gt: labels.gt.get(s)!, dets: mapDetections(await det.detect(im, { minScore: 0.05, classes }), im.width, im.height, cocoToMsrs('merged'), 0.4) });
    }
    const sms = await timeIt(reps, () => void scoreDetections(images, { classCount: 3, scoreThreshold: DEFAULT_DETECTION_OPTIONS.scoreThreshold }));
    console.log(`COCO-style scoring of ${images.length} images (${images.reduce((s, i) => s + i.dets.length, 0)} detections): ${sms.toFixed(1)} ms`);
    det.dispose();
  } else {
    console.log('detector: skipped (no ../shared/data/msrs/test)');
  }

  const p = initSegParams(DEFAULT_SEGNET, 1);
  const [B, H, W] = [8, 120, 160];
  const x = tf.randomNormal([B, H, W, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const macs = segMacs(H, W);
  const fwd = await timeIt(reps, () => tf.tidy(() => void segForward(p, DEFAULT_SEGNET, x).dataSync()));
  console.log(`segmentation U-Net: ${paramCount(p)} parameters, ${(macs / 1e9).toFixed(3)} GMAC per ${W}x${H} image`);
  console.log(`  forward on tfjs-wasm, batch ${B}: ${fwd.toFixed(0)} ms (${((2 * macs * B) / fwd / 1e6).toFixed(1)} GFLOP/s)`);
  tf.dispose([x, ...p.values()]);

  // A whole training step (gradients + Adam) on each backend, measured alternately in one run.
  const batch: SegBatch = {
    x: new Float32Array(B * H * W * 3).map((_, i) => Math.sin(i * 0.37) * 2),
    y: new Int32Array(B * H * W).map((_, i) => (i * 7919) % 9),
    shape: [B, H, W],
  };
  const backends: SegBackend[] = torchAvailable() ? ['tfjs', 'torch'] : ['tfjs'];
  if (torchAvailable()) loadTorch().setNumThreads(1);
  const steppers = backends.map((b) => makeSegStepper(b, DEFAULT_SEGNET, initSegWeights(DEFAULT_SEGNET, 1)));
  const times: number[][] = backends.map(() => []);
  for (let r = 0; r <= reps; r++) {
    for (let k = 0; k < steppers.length; k++) {
      const t = performance.now();
      await steppers[k].gradients(batch);
      steppers[k].apply(1e-3);
      if (r > 0) times[k].push(performance.now() - t); // r = 0 warms up
    }
  }
  const med = times.map(median);
  backends.forEach((b, k) => {
    const name = b === 'torch' ? `libtorch ${loadTorch().torchVersion}, 1 thread` : 'tfjs-wasm';
    console.log(`  training step (fwd + bwd + Adam), batch ${B}, ${name}: ${med[k].toFixed(0)} ms (${((6 * macs * B) / med[k] / 1e6).toFixed(1)} GFLOP/s at 3x forward FLOPs)` +
      ` => 3000 steps (the recommended budget) ~${((3000 * med[k]) / 6e4).toFixed(0)} min per method`);
  });
  if (med.length === 2) console.log(`  libtorch / tfjs-wasm step time: ${(med[1] / med[0]).toFixed(3)} (${(med[0] / med[1]).toFixed(1)}x faster)`);
  else console.log(`  libtorch: not built (${torchUnavailableReason()})`);
  steppers.forEach((s) => s.dispose());
}
