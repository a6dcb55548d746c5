import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, copyFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labelIndices, loadSegSet } from '../src/downstream/segdata.js';
import { readImage } from '../src/image/read.js';
import { InputError } from '../src/errors.js';

test('label images: gray or equal-channel RGB class indices; others are errors naming the file', () => {
  assert.deepEqual(labelIndices({ width: 2, height: 1, channels: 1, data: Uint8Array.of(0, 8) }, 'l.png', 9), Uint8Array.of(0, 8));
  assert.deepEqual(labelIndices({ width: 1, height: 1, channels: 3, data: Uint8Array.of(5, 5, 5) }, 'l.png', 9), Uint8Array.of(5));
  assert.throws(() => labelIndices({ width: 2, height: 1, channels: 1, data: Uint8Array.of(0, 9) }, 'l.png', 9), (e: unknown) => e instanceof InputError && /l\.png: label value 9 at pixel 1; expected class indices 0\.\.8/.test(e.message));
  assert.throws(() => labelIndices({ width: 1, height: 1, channels: 3, data: Uint8Array.of(1, 2, 3) }, 'c.png', 9), /c\.png: label image is colour/);
});

const T = '../shared/data/msrs/test';
test('loads MSRS pairs: images resized, labels nearest (training) or full size (scoring)', { skip: !existsSync(T) && 'no ../shared data' }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tesg-segdata-'));
  try {
    mkdirSync(`${dir}/ir`);
    mkdirSync(`${dir}/label`);
    for (const s of ['00103D', '00537D']) {
      copyFileSync(`${T}/ir/${s}.png`, `${dir}/ir/${s}.png`);
      copyFileSync(`${T}/label/${s}.png`, `${dir}/label/${s}.png`);
    }
    const small = await loadSegSet({ imagesDir: `${dir}/ir`, labelsDir: `${dir}/label`, width: 160, height: 120, classes: 9, resizeLabels: true, quiet: true });
    assert.deepEqual(small.stems, ['00103D', '00537D']);
    assert.equal(small.images.length, 2 * 160 * 120 * 3);
    assert.equal(small.labels.length, 2 * 160 * 120);
    // Nearest neighbour never invents classes: every small-label value occurs in the full label.
    const full = await readImage(`${dir}/label/00103D.png`);
    const present = new Set(full.data);
    assert.ok([...small.labels.subarray(0, 19200)].every((v) => present.has(v)));
    // Gray IR replicated to 3 equal channels.
    assert.ok(small.images[3000] === small.images[3001] && small.images[3001] === small.images[3002]);
    const big = await loadSegSet({ imagesDir: `${dir}/ir`, labelsDir: `${dir}/label`, width: 160, height: 120, classes: 9, resizeLabels: false, quiet: true });
    assert.deepEqual([big.labelWidth, big.labelHeight], [640, 480]);
    assert.deepEqual(big.labels.subarray(0, 640 * 480), full.data);
    rmSync(`${dir}/label/00537D.png`);
    await assert.rejects(loadSegSet({ imagesDir: `${dir}/ir`, labelsDir: `${dir}/label`, width: 160, height: 120, classes: 9, resizeLabels: true, quiet: true }), /1 image\(s\) without a partner .*00537D\.png/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
