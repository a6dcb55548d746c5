import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { groupSegmentation, segmentationMarkdown, type SegmentationResult } from '../src/downstream/report.js';
import { writeSegmentationTable } from '../src/downstream/segrun.js';

function result(method: string, seed: number, iou: (number | null)[], steps = 3000): SegmentationResult {
  const present = iou.filter((v): v is number => v !== null);
  return {
    method, trainImages: 't', testImages: 't', backend: 'libtorch 1.13.0, 1 thread(s)', params: 487433,
    settings: { steps, batch: 8, lr: 0.002, seed, width: 160, height: 120 },
    trainSeconds: 600 + seed, evalSeconds: 5, finalLoss: 0.1, iou,
    miou: present.reduce((s, v) => s + v, 0) / present.length, pixelAccuracy: 0.9, confusion: [],
  };
}

// 9 classes; "Bump" (last) absent from labels and predictions in some runs (null).
const A1 = result('A', 1, [90, 40, 50, 0, 6, 0, 0, 0, null]);
const A2 = result('A', 2, [92, 44, 46, 2, 8, 0, 0, 0, 10]);
const B1 = result('B', 1, [91, 41, 49, 1, 7, 0, 0, 0, null]);

test('runs of one method (seeds) are averaged per class; null classes are left out of the mean', () => {
  const [a, b] = groupSegmentation([A1, B1, A2]);
  assert.equal(a.method, 'A');
  assert.equal(a.runs.length, 2);
  assert.deepEqual(a.iou, [91, 42, 48, 1, 7, 0, 0, 0, 10]);
  assert.equal(a.miou, (A1.miou + A2.miou) / 2);
  assert.equal(a.miouSpread, Math.abs(A1.miou - A2.miou));
  assert.deepEqual(b.iou, B1.iou);
  assert.equal(b.miouSpread, 0);
});

test('Table 3 markdown: means ranked, the spread column unranked and "nan" for a single run', () => {
  const md = segmentationMarkdown([A1, B1, A2]).split('\n');
  assert.equal(md[0], '| Method | Background ↑ | Car ↑ | Person ↑ | Bike ↑ | Curve ↑ | Car stop ↑ | Guardrail ↑ | Color cone ↑ | Bump ↑ | mIoU ↑ | mIoU spread |');
  // A: mIoU (23.25 + 22.44...) — A1 = 186/8 = 23.25, A2 = 202/9 = 22.444; mean 22.85, spread 0.81.
  assert.equal(md[2], '| A (mean of 2) | **91.00** | **42.00** | <u>48.00</u> | **1.00** | **7.00** | **0.00** | **0.00** | **0.00** | **10.00** | <u>22.85</u> | 0.81 |');
  // B: 189/8 = 23.625 -> 23.63 (best mIoU); background ties with A at 91.00, so both are bold.
  assert.equal(md[3], '| B | **91.00** | <u>41.00</u> | **49.00** | **1.00** | **7.00** | **0.00** | **0.00** | **0.00** | nan | **23.63** | nan |');
  // One run per method: no spread column.
  assert.ok(!segmentationMarkdown([A1, B1]).includes('spread'));
});

test('seg-table files: seeds may differ (listed), other budgets differing is a warning', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tesg-segtab-'));
  try {
    const { markdown } = await writeSegmentationTable(dir, [A1, B1, A2]);
    assert.match(markdown, /Budget: 3000 steps x batch 8 at 160x120, lr 0.002; seeds 1, 2\./);
    assert.match(markdown, /mIoU per run: A 23\.25 \(seed 1\), 22\.44 \(seed 2\); B 23\.63 \(seed 1\)/);
    assert.match(markdown, /Training wall time per run: A 10\.0 \/ 10\.0 min, B 10\.0 min \(libtorch 1\.13\.0, 1 thread\(s\)\)/);
    assert.equal(readFileSync(path.join(dir, 'segmentation.csv'), 'utf8').trim().split('\n').length, 4, 'the CSV keeps one line per run');
    const warn = await writeSegmentationTable(dir, [A1, result('C', 1, [1, 1, 1, 1, 1, 1, 1, 1, 1], 1500)]);
    assert.match(warn.markdown, /WARNING: rows used different budgets/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
