/**
 * `npm run bench -- downstream [--reps N]`: cost of the downstream benchmarks on this machine.
 * - detector: CenterNet on one 640x480 MSRS image (median of N, warm), and COCO-style scoring of 50
 *   images' detections;
 * - segmentation network: parameters, MACs per image, forward and training step at batch 8, 160x120
 *   (median of N, warm), and the steps/hour that implies for the recommended budget.
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
import { crossEntropy, DEFAULT_SEGNET, initSegParams, paramCount, segForward } from '../src/downstream/segnet.js';

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
  const vars = [...p.values()];
  const [B, H, W] = [8, 120, 160];
  const x = tf.randomNormal([B, H, W, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.randomUniformInt([B, H, W], 0, 9, 2) as unknown as tf.Tensor3D;
  const macs = segMacs(H, W);
  const fwd = await timeIt(reps, () => tf.tidy(() => void segForward(p, DEFAULT_SEGNET, x).dataSync()));
  const step = await timeIt(reps, () =>
    tf.tidy(() => {
      const { value } = tf.variableGrads(() => crossEntropy(segForward(p, DEFAULT_SEGNET, x), y, 9), vars);
      value.dataSync();
    }),
  );
  console.log(`segmentation U-Net: ${paramCount(p)} parameters, ${(macs / 1e9).toFixed(3)} GMAC per ${W}x${H} image`);
  console.log(`  forward, batch ${B}: ${fwd.toFixed(0)} ms (${((2 * macs * B) / fwd / 1e6).toFixed(1)} GFLOP/s)`);
  console.log(`  training step (fwd+bwd, no optimiser), batch ${B}: ${step.toFixed(0)} ms (${((6 * macs * B) / step / 1e6).toFixed(1)} GFLOP/s at 3x forward FLOPs)`);
  console.log(`  => 3000 steps (recommended budget, ~22 epochs of 1083 images) take ~${((3000 * step) / 3.6e6).toFixed(2)} h per method`);
  tf.dispose([x, y, ...vars]);
}
