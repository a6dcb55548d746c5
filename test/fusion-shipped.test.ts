/**
 * The shipped weights (weights/tesg.safetensors + tesg.onnx), through the README's main command:
 * `tesg fuse IR VI -o OUT` uses the network by default, its result beats the classic Laplacian
 * baseline on the bundled pairs on the paper's metrics (SD, SCD, VIF, Qabf; on the MSRS test subset
 * the means are 42.96/1.696/1.051/0.679 against 31.47/1.444/0.892/0.616, weights/README.md), and the
 * ONNX Runtime and tfjs backends give the same image within one grey level at full size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getFusionMethod } from '../src/fusion/index.js';
import { toGray } from '../src/image/color.js';
import { readImage } from '../src/image/read.js';
import { Qabf, SCD, SD, VIF } from '../src/metrics/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-shipped-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const tesg = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT });
const sample = (m: 'ir' | 'vi', stem: string) => path.join(ROOT, 'samples', 'msrs', m, `${stem}.png`);

for (const stem of ['00537D', '01102N']) {
  test(`${stem}: the default fuse is the shipped network and beats the Laplacian baseline`, async () => {
    const out = path.join(tmp, `${stem}.png`);
    const r = await tesg('fuse', sample('ir', stem), sample('vi', stem), '-o', out);
    assert.match(r.stdout, /, tesg, /, r.stdout);
    const [ir, vi, fused] = await Promise.all([readImage(sample('ir', stem)), readImage(sample('vi', stem)), readImage(out)]);
    assert.equal(fused.channels, 3, 'colour output (fused Y + VI chroma)');
    const lap = await getFusionMethod('laplacian').fuse(ir, vi);
    const [gi, gv, gf, gl] = [ir, vi, fused, lap].map(toGray);
    for (const [name, metric] of [['SD', SD], ['SCD', SCD], ['VIF', VIF], ['Qabf', Qabf]] as const) {
      const net = metric(gf, gi, gv), base = metric(gl, gi, gv);
      assert.ok(net > base, `${stem} ${name}: network ${net.toFixed(4)} should beat laplacian ${base.toFixed(4)}`);
    }
  });
}

test('ONNX Runtime and tfjs run the shipped weights to the same 640x480 image (within one grey level)', async () => {
  const onnx = path.join(tmp, 'onnx.png'), tfjs = path.join(tmp, 'tfjs.png');
  await tesg('fuse', sample('ir', '01102N'), sample('vi', '01102N'), '-o', onnx, '--backend', 'onnx');
  await tesg('fuse', sample('ir', '01102N'), sample('vi', '01102N'), '-o', tfjs, '--backend', 'tfjs');
  const [a, b] = await Promise.all([readImage(onnx), readImage(tfjs)]);
  let max = 0, off = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    max = Math.max(max, d);
    if (d) off++;
  }
  assert.ok(max <= 1, `max difference ${max}`);
  assert.ok(off / a.data.length < 0.01, `${off} of ${a.data.length} values differ`);
});

test('--sig: fusing from a SIG cache (tesg sig) gives the same image as running the SIG; a missing entry is a one-line error', async () => {
  const cache = path.join(tmp, 'sig'), outDir = path.join(tmp, 'from-cache'), ref = path.join(tmp, 'live-01102N.png');
  await tesg('sig', '--ir', path.join(ROOT, 'samples/msrs/ir'), '--vi', path.join(ROOT, 'samples/msrs/vi'), '--out', cache, '--sig-version', 'v1');
  await tesg('fuse', sample('ir', '01102N'), sample('vi', '01102N'), '-o', ref);
  const r = await tesg('fuse', '--ir', path.join(ROOT, 'samples/msrs/ir'), '--vi', path.join(ROOT, 'samples/msrs/vi'), '--out', outDir, '--sig', cache);
  assert.match(r.stdout, /fused 2, skipped 0 existing, failed 0/);
  const [live, cached] = await Promise.all([readImage(ref), readImage(path.join(outDir, '01102N.png'))]);
  assert.deepEqual(cached.data, live.data);
  const empty = path.join(tmp, 'empty-sig');
  await assert.rejects(tesg('fuse', sample('ir', '00537D'), sample('vi', '00537D'), '-o', path.join(tmp, 'x.png'), '--sig', empty), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr, /^tesg: error: .*text[/\\]00537D\.json: no SIG cache entry for '00537D'; run tesg sig on its folder first\n$/);
    return true;
  });
});
