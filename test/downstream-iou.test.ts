import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfusionMatrix, segmentationScores } from '../src/downstream/iou.js';

const close = (a: number | null, e: number) => assert.ok(a !== null && Math.abs(a - e) < 1e-12, `got ${a}, expected ${e}`);

test('IoU from a hand-filled 3-class confusion matrix', () => {
  // rows = label, cols = prediction
  //        p0  p1  p2
  // g0  [  50,  5,  0 ]
  // g1  [  10, 20,  5 ]
  // g2  [   0,  0,  0 ]   class 2 never labelled but predicted 5 times -> IoU 0, counted
  const cm = new ConfusionMatrix(3);
  const gt: number[] = [], pred: number[] = [];
  const put = (g: number, p: number, n: number) => { for (let i = 0; i < n; i++) { gt.push(g); pred.push(p); } };
  put(0, 0, 50); put(0, 1, 5); put(1, 0, 10); put(1, 1, 20); put(1, 2, 5);
  cm.add(gt, pred);
  assert.equal(cm.get(1, 0), 10);
  const s = segmentationScores(cm);
  close(s.iou[0], 50 / (55 + 60 - 50)); // 50/65
  close(s.iou[1], 20 / (35 + 25 - 20)); // 20/40
  close(s.iou[2], 0);
  close(s.miou, (50 / 65 + 0.5 + 0) / 3);
  close(s.pixelAccuracy, 70 / 90);
});

test('a class absent from labels and predictions is left out of mIoU', () => {
  const cm = new ConfusionMatrix(4);
  cm.add([0, 0, 1, 1], [0, 0, 1, 0]); // classes 2, 3 never seen
  const s = segmentationScores(cm);
  assert.equal(s.iou[2], null);
  assert.equal(s.iou[3], null);
  close(s.iou[0], 2 / 3);
  close(s.iou[1], 1 / 2);
  close(s.miou, (2 / 3 + 1 / 2) / 2);
});

test('accumulates over images (dataset-level, not mean of per-image IoU)', () => {
  const cm = new ConfusionMatrix(2);
  cm.add([1, 0], [1, 0]); // image IoU for class 1: 1
  cm.add([1, 1, 1, 0], [0, 0, 0, 0]); // image IoU for class 1: 0
  // Pooled: TP 1, FN 3, FP 0 -> 1/4 (mean of per-image would give 0.5).
  close(segmentationScores(cm).iou[1], 0.25);
});

test('perfect prediction gives 1; bad sizes and indices are errors', () => {
  const cm = new ConfusionMatrix(3);
  cm.add(Uint8Array.of(0, 1, 2, 2), Uint8Array.of(0, 1, 2, 2));
  assert.equal(segmentationScores(cm).miou, 1);
  assert.throws(() => cm.add([0, 1], [0]), /label has 2 pixels, prediction 1/);
  assert.throws(() => cm.add([3], [0]), /class index 3 >= 3/);
});
