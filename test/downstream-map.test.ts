import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averagePrecision, IOU_THRESHOLDS, scoreDetections, type ImageDetections } from '../src/downstream/map.js';
import { iou, type Box } from '../src/downstream/boxes.js';

// Hand-computed cases for the COCO-style scorer. Boxes in normalised corners; IoUs chosen away from
// the 0.05 threshold grid so no case hangs on a floating-point tie.
const b = (x1: number, y1: number, x2: number, y2: number): Box => ({ x1, y1, x2, y2 });
const opts = { classCount: 3, scoreThreshold: 0.3 };
const close = (a: number, e: number, msg?: string) => assert.ok(Math.abs(a - e) < 1e-12, `${msg ?? ''} got ${a}, expected ${e}`);

test('thresholds are COCOeval\'s 0.50:0.05:0.95', () => {
  assert.equal(IOU_THRESHOLDS.length, 10);
  close(IOU_THRESHOLDS[0], 0.5);
  close(IOU_THRESHOLDS[5], 0.75);
  close(IOU_THRESHOLDS[9], 0.95);
});

test('iou of hand-made boxes', () => {
  close(iou(b(0, 0, 0.1, 0.1), b(0, 0, 0.1, 0.062)), 0.62);
  close(iou(b(0, 0, 0.2, 0.2), b(0.1, 0.1, 0.3, 0.3)), 0.01 / 0.07);
  assert.equal(iou(b(0, 0, 0.1, 0.1), b(0.1, 0, 0.2, 0.1)), 0); // touching edges
});

test('perfect detections score 1 everywhere', () => {
  const images: ImageDetections[] = [
    { gt: [{ cls: 0, box: b(0.1, 0.1, 0.2, 0.4) }, { cls: 2, box: b(0.5, 0.5, 0.9, 0.8) }], dets: [] },
    { gt: [{ cls: 1, box: b(0.3, 0.3, 0.4, 0.5) }], dets: [] },
  ];
  for (const im of images) im.dets = im.gt.map((g) => ({ cls: g.cls, score: 0.9, box: g.box }));
  const s = scoreDetections(images, opts);
  assert.deepEqual([s.map50, s.map75, s.map5095, s.precision, s.recall], [1, 1, 1, 1, 1]);
});

test('a box shifted to IoU 0.62 counts at 0.50..0.60 only', () => {
  const s = scoreDetections([{ gt: [{ cls: 0, box: b(0, 0, 0.1, 0.1) }], dets: [{ cls: 0, score: 0.8, box: b(0, 0, 0.1, 0.062) }] }], opts);
  assert.deepEqual(s.perClass[0].ap, [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(s.map50, 1);
  assert.equal(s.map75, 0);
  close(s.map5095, 0.3);
  // Classes 1 and 2 have no ground truth: left out of the means, not counted as 0.
  assert.equal(s.perClass[1].ap, null);
  assert.equal(s.precision, 1);
  assert.equal(s.recall, 1);
});

test('a missed object: recall 0.5, AP = 51/101', () => {
  const gt = [{ cls: 2, box: b(0, 0, 0.2, 0.2) }, { cls: 2, box: b(0.5, 0.5, 0.7, 0.7) }];
  const s = scoreDetections([{ gt, dets: [{ cls: 2, score: 0.9, box: gt[0].box }] }], opts);
  close(s.map50, 51 / 101);
  close(s.map5095, 51 / 101);
  assert.equal(s.recall, 0.5);
  assert.equal(s.precision, 1);
});

test('a duplicate detection is a false positive', () => {
  const g = b(0.2, 0.2, 0.4, 0.6);
  const s = scoreDetections([{ gt: [{ cls: 0, box: g }], dets: [{ cls: 0, score: 0.9, box: g }, { cls: 0, score: 0.8, box: b(0.2, 0.21, 0.4, 0.6) }] }], opts);
  assert.equal(s.map50, 1); // the first reaches recall 1 at precision 1
  assert.equal(s.perClass[0].tp, 1);
  assert.equal(s.perClass[0].fp, 1);
  assert.equal(s.precision, 0.5);
  assert.equal(s.recall, 1);
});

test('score order matters: FP first vs last, FP in the middle', () => {
  const g1 = b(0, 0, 0.1, 0.1), g2 = b(0.5, 0.5, 0.6, 0.6), far = b(0.8, 0.8, 0.9, 0.9);
  const run = (sFp: number) =>
    scoreDetections(
      [
        { gt: [{ cls: 0, box: g1 }], dets: [{ cls: 0, score: 0.8, box: g1 }, { cls: 0, score: sFp, box: far }] },
        { gt: [{ cls: 0, box: g2 }], dets: [{ cls: 0, score: 0.7, box: g2 }] },
      ],
      opts,
    );
  // FP highest: precision 0, 1/2, 2/3 -> envelope 2/3 at every recall point.
  close(run(0.9).map50, 2 / 3);
  // FP lowest: both TPs first -> 1.
  close(run(0.6).map50, 1);
  // FP between the TPs: 51 points at precision 1 (recall <= 0.5), 50 at 2/3.
  close(run(0.75).map50, (51 + 50 * (2 / 3)) / 101);
  // Precision/recall at the threshold do not depend on order.
  assert.equal(run(0.9).precision, 2 / 3);
});

test('detections of another class never match', () => {
  const g = b(0.1, 0.1, 0.3, 0.3);
  const s = scoreDetections([{ gt: [{ cls: 0, box: g }], dets: [{ cls: 2, score: 0.9, box: g }] }], opts);
  assert.equal(s.map50, 0);
  assert.equal(s.recall, 0);
  assert.equal(s.precision, 0); // no person kept -> 0, as tp / (tp + fp + eps)
});

test('the score threshold filters precision/recall but not AP', () => {
  const g = b(0.1, 0.1, 0.3, 0.3);
  const s = scoreDetections([{ gt: [{ cls: 0, box: g }], dets: [{ cls: 0, score: 0.1, box: g }] }], opts);
  assert.equal(s.map50, 1);
  assert.equal(s.recall, 0);
});

test('mAP averages over the classes present in the ground truth', () => {
  const g0 = b(0.1, 0.1, 0.3, 0.3), g2 = b(0.5, 0.5, 0.7, 0.7);
  const s = scoreDetections([{ gt: [{ cls: 0, box: g0 }, { cls: 2, box: g2 }], dets: [{ cls: 0, score: 0.9, box: g0 }] }], opts);
  assert.equal(s.map50, 0.5);
  assert.equal(s.recall, 0.5);
});

test('averagePrecision on a raw TP sequence', () => {
  close(averagePrecision([true, false, true], 2), (51 + 50 * (2 / 3)) / 101);
  assert.equal(averagePrecision([], 3), 0);
  assert.ok(Number.isNaN(averagePrecision([true], 0)));
});

test('a detection prefers the GT with the higher IoU', () => {
  // Two overlapping persons; one detection sitting mostly on the second. It must take the second,
  // so a later detection on the first still matches.
  const gA = b(0.1, 0.1, 0.3, 0.5), gB = b(0.2, 0.1, 0.4, 0.5);
  const s = scoreDetections(
    [{ gt: [{ cls: 0, box: gA }, { cls: 0, box: gB }], dets: [{ cls: 0, score: 0.9, box: b(0.19, 0.1, 0.39, 0.5) }, { cls: 0, score: 0.8, box: gA }] }],
    opts,
  );
  assert.equal(s.map50, 1);
});
