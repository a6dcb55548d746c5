import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mapDetections, readLabelSet, runDetection, DEFAULT_DETECTION_OPTIONS } from '../src/downstream/detect.js';
import { cocoToMsrs } from '../src/downstream/classes.js';
import { writeDetectionReport, detectionCaption } from '../src/downstream/report.js';
import type { Detection } from '../src/semantics/detector.js';

const det = (label: string, score: number, x1: number, y1: number, x2: number, y2: number): Detection => ({ label, score, x1, y1, x2, y2 });

test('COCO detections map to MSRS classes, normalised and clipped', () => {
  const out = mapDetections(
    [det('person', 0.9, -10, 48, 64, 240), det('dog', 0.8, 0, 0, 10, 10), det('truck', 0.7, 320, 240, 700, 480)],
    640, 480, cocoToMsrs('merged'), 0.4,
  );
  assert.deepEqual(out, [
    { cls: 0, score: 0.9, box: { x1: 0, y1: 0.1, x2: 0.1, y2: 0.5 } },
    { cls: 2, score: 0.7, box: { x1: 0.5, y1: 0.5, x2: 1, y2: 1 } },
  ]);
  // strict mapping drops the truck
  assert.equal(mapDetections([det('truck', 0.7, 0, 0, 10, 10)], 640, 480, cocoToMsrs('strict'), 0.4).length, 0);
  assert.throws(() => cocoToMsrs('loose' as 'strict'), /expected "strict" or "merged"/);
});

test('one scooter found as bicycle and motorcycle is one MSRS bicycle', () => {
  const out = mapDetections([det('motorcycle', 0.6, 100, 100, 200, 200), det('bicycle', 0.5, 102, 100, 200, 204), det('bicycle', 0.4, 400, 100, 450, 200)], 640, 480, cocoToMsrs('merged'), 0.4);
  assert.deepEqual(out.map((d) => [d.cls, d.score]), [[1, 0.6], [1, 0.4]]);
});

const T = '../shared/data/msrs/test';
test('label folder: classes.txt checked, bad folders named', { skip: !existsSync(T) && 'no ../shared data' }, async () => {
  const set = await readLabelSet(`${T}/detection`);
  assert.equal(set.stems.length, 50);
  assert.equal([...set.gt.values()].reduce((s, g) => s + g.length, 0), 193); // counted with a script: 133 person, 18 bicycle, 42 car
  await assert.rejects(readLabelSet(`${T}/nope`), /nope: cannot list the label folder \(ENOENT\)/);
});

test('end to end on 3 MSRS images with the real detector: files, caption, missing images', { skip: !existsSync(T) && 'no ../shared data' }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tesg-det-'));
  try {
    mkdirSync(`${dir}/labels`);
    mkdirSync(`${dir}/vi`);
    for (const s of ['00103D', '00111D', '00537D']) {
      copyFileSync(`${T}/detection/${s}.txt`, `${dir}/labels/${s}.txt`);
      copyFileSync(`${T}/vi/${s}.png`, `${dir}/vi/${s}.png`);
    }
    copyFileSync(`${T}/detection/classes.txt`, `${dir}/labels/classes.txt`);
    const rows = await runDetection({ ...DEFAULT_DETECTION_OPTIONS, labelsDir: `${dir}/labels`, methods: [{ name: 'VI', dir: `${dir}/vi` }], quiet: true });
    const s = rows[0].scores;
    for (const v of [s.map50, s.map75, s.map5095, s.precision, s.recall]) assert.ok(v >= 0 && v <= 1);
    assert.ok(s.map50 >= s.map75 && s.map50 >= s.map5095, 'AP falls as the IoU threshold rises');
    assert.ok(s.map50 > 0.2, `the detector finds some of the daytime objects (mAP50 ${s.map50})`);
    const files = await writeDetectionReport(`${dir}/out`, rows, detectionCaption('merged', 0.2, 3), {});
    assert.match(readFileSync(files[0], 'utf8'), /frozen COCO CenterNet .* NOT YOLOv8 retrained/);
    assert.equal(readFileSync(files[1], 'utf8').split('\n')[1].split(',')[0], 'VI');
    assert.equal(JSON.parse(readFileSync(files[2], 'utf8')).rows[0].images, 3);
    writeFileSync(`${dir}/labels/99999N.txt`, '0 0.5 0.5 0.1 0.1\n');
    await assert.rejects(runDetection({ ...DEFAULT_DETECTION_OPTIONS, labelsDir: `${dir}/labels`, methods: [{ name: 'VI', dir: `${dir}/vi` }], quiet: true }), /\(VI\): no image for 1 labelled stem\(s\): 99999N/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
