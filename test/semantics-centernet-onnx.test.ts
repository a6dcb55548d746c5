/**
 * The SIG detector converted to ONNX (src/semantics/centernet-onnx.ts) against the tfjs graph it comes
 * from: the same heads and detections on real pairs of three datasets (640x480 MSRS with a 1-channel
 * IR, an odd-sized RoadScene pair, a 1280x1024 LLVIP pair that the graph resizes), its cell_max output
 * (the decode's skip of empty cells gives the same candidates), the cache file, a
 * graph the mapping does not cover, and a whole `tesg fuse` with either backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { readImage } from '../src/image/read.js';
import { CenterNetDetector, centernetModelPath, decodeCenterNet } from '../src/semantics/detector.js';
import { detectorOnnxBytes, detectorOnnxPath, OnnxCenterNetDetector, userCacheDir } from '../src/semantics/centernet-ort.js';
import { centerNetToOnnx } from '../src/semantics/centernet-onnx.js';
import type { GraphManifest } from '../src/semantics/centernet.js';
import { ROOT, tesgOk } from './helpers/cli.js';

const DATA = path.join(ROOT, '..', 'shared', 'data');
const PAIRS: [string, string][] = [
  ['samples/msrs/vi/01102N.png', 'samples/msrs/ir/01102N.png'],
  [path.join(DATA, 'roadscene/dev50/vi/FLIR_01130.jpg'), path.join(DATA, 'roadscene/dev50/ir/FLIR_01130.jpg')],
  [path.join(DATA, 'llvip/dev50/vi/IR9.png'), path.join(DATA, 'llvip/dev50/ir/IR9.png')],
];

test('onnxruntime CenterNet: the tfjs graph\'s heat maps within 2e-5, box sides within 0.05 px and the same detections, on MSRS, RoadScene and LLVIP pairs', async () => {
  const tfjs = await CenterNetDetector.load();
  const ort = await OnnxCenterNetDetector.load();
  try {
    let compared = 0;
    for (const pair of PAIRS) {
      for (const file of pair) {
        const f = path.isAbsolute(file) ? file : path.join(ROOT, file);
        if (!existsSync(f)) continue; // ../shared is on developer machines and CI, not in a user's install
        const img = await readImage(f);
        const [a, b] = [await tfjs.heads(img), await ort.heads(img)];
        assert.deepEqual(b.grid, a.grid, f);
        let maxHeat = 0;
        for (let i = 0; i < a.keypoints.length; i++) maxHeat = Math.max(maxHeat, Math.abs(a.keypoints[i] - b.keypoints[i]));
        let maxWh = 0;
        for (let i = 0; i < a.wh.length; i++) maxWh = Math.max(maxWh, Math.abs(a.wh[i] - b.wh[i]));
        console.log(`${path.basename(path.dirname(f))}/${path.basename(f)}: heat maps within ${maxHeat.toExponential(2)}, box sides within ${maxWh.toExponential(2)} px`);
        assert.ok(maxHeat < 2e-5, `${f}: heat maps differ by ${maxHeat}`);
        // box sides are regressed distances of up to ~300 input pixels: float32 noise of XNNPACK vs MLAS
        assert.ok(maxWh < 0.05, `${f}: box sides differ by ${maxWh} px`);
        // cell_max is the 80 scores' maximum per cell, and skipping cells by it changes no detection
        const { gh, gw, nc } = b.grid;
        assert.equal(b.cellMax?.length, gh * gw, f);
        for (let c = 0; c < gh * gw; c++) assert.equal(b.cellMax![c], Math.max(...b.keypoints.subarray(c * nc, (c + 1) * nc)), `${f}: cell ${c}`);
        for (const minScore of [0.05, 0.2]) {
          const all = decodeCenterNet(b.keypoints, b.wh, b.grid, { minScore });
          assert.ok(all.length > 0 || f.includes('ir'), `${f}: candidates at ${minScore}`);
          assert.deepEqual(decodeCenterNet(b.keypoints, b.wh, b.grid, { minScore }, b.cellMax), all, `${f}: decode with cell_max at ${minScore}`);
        }
        const [da, db] = [await tfjs.detect(img), await ort.detect(img)];
        assert.equal(db.length, da.length, f);
        assert.ok(da.length > 0 || f.includes('ir'), `${f}: the VI image has detections to compare`);
        for (let i = 0; i < da.length; i++) {
          assert.equal(db[i].label, da[i].label, f);
          assert.ok(Math.abs(db[i].score - da[i].score) < 2e-5, `${f}: score ${db[i].score} vs ${da[i].score}`);
          for (const k of ['x1', 'y1', 'x2', 'y2'] as const) assert.ok(Math.abs(db[i][k] - da[i][k]) < 0.1, `${f}: ${k} ${db[i][k]} vs ${da[i][k]}`);
        }
        compared++;
      }
    }
    assert.ok(compared >= 2, 'at least the bundled pair was compared');
  } finally {
    tfjs.dispose();
    await ort.dispose();
  }
});

test('the converted detector is cached beside the package and read back; a graph with an op the mapping lacks is refused by name', async () => {
  const { bytes } = await detectorOnnxBytes();
  const again = await detectorOnnxBytes();
  assert.equal(again.converted, false);
  assert.ok(existsSync(detectorOnnxPath()));
  assert.deepEqual(again.bytes, bytes);
  assert.match(path.basename(detectorOnnxPath()), /^centernet-mb3-\d+\.\d+\.\d+-[0-9a-f]{8}-c\d+\.onnx$/);
  // a read-only install caches in the user's folder instead: $XDG_CACHE_HOME/tesg, else ~/.cache/tesg
  const saved = process.env.XDG_CACHE_HOME;
  try {
    process.env.XDG_CACHE_HOME = '/some/where';
    assert.equal(userCacheDir(), path.join('/some/where', 'tesg'));
    delete process.env.XDG_CACHE_HOME;
    assert.equal(userCacheDir(), path.join(homedir(), '.cache', 'tesg'));
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
  assert.equal(path.basename(detectorOnnxPath(undefined, userCacheDir())), path.basename(detectorOnnxPath()));

  const json = centernetModelPath();
  const manifest = JSON.parse(readFileSync(json, 'utf8')) as GraphManifest;
  const weights = [readFileSync(path.join(path.dirname(json), manifest.weightsManifest[0].paths[0]))];
  const relu = manifest.modelTopology.node.find((n) => n.op === 'Relu6')!;
  relu.op = 'Elu';
  assert.throws(() => centerNetToOnnx(manifest, weights), new RegExp(`op Elu \\(${relu.name.replace(/[/]/g, '\\/')}\\) is not mapped`));
});

test('a cache file cut short is converted again and replaced, with one warning', async () => {
  // a copy of the model outside the human package: its own cache file, so other tests never see it broken
  const dir = mkdtempSync(path.join(tmpdir(), 'tesg-det-model-'));
  const json = centernetModelPath();
  for (const f of ['centernet.json', 'centernet.bin']) copyFileSync(path.join(path.dirname(json), f), path.join(dir, f));
  const modelJson = path.join(dir, 'centernet.json');
  const cache = detectorOnnxPath(modelJson);
  assert.notEqual(cache, detectorOnnxPath());
  try {
    const { bytes } = await detectorOnnxBytes(modelJson);
    writeFileSync(cache, bytes.subarray(0, 1000)); // a crash before the data reached the disk
    const warnings: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (warnings.push(String(chunk)), true)) as typeof process.stderr.write;
    let det: OnnxCenterNetDetector;
    try {
      det = await OnnxCenterNetDetector.load({ modelJson });
    } finally {
      process.stderr.write = write;
    }
    await det.dispose();
    assert.equal(warnings.length, 1, warnings.join(''));
    assert.match(warnings[0], /^tesg: warning: .*tesg-cache.*not a loadable ONNX model.*; converting the detector again\n$/);
    assert.deepEqual(readFileSync(cache), Buffer.from(bytes));
  } finally {
    rmSync(cache, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tesg fuse: the same fused image with the onnxruntime detector (default) and TESG_DETECTOR=tfjs', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tesg-det-'));
  try {
    const args = ['fuse', 'samples/msrs/ir/01102N.png', 'samples/msrs/vi/01102N.png', '--weights', 'weights/tesg-v2/tesg.safetensors'];
    await tesgOk(...args, '-o', path.join(dir, 'ort.png'));
    process.env.TESG_DETECTOR = 'tfjs';
    try {
      await tesgOk(...args, '-o', path.join(dir, 'tfjs.png'));
    } finally {
      delete process.env.TESG_DETECTOR;
    }
    assert.deepEqual(readFileSync(path.join(dir, 'ort.png')), readFileSync(path.join(dir, 'tfjs.png')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
