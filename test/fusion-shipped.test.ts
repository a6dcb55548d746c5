/**
 * The shipped weights (the default tesg-v2.2, weights/tesg.safetensors + tesg.onnx, and tesg-v2.1, tesg-v1
 * and tesg-v2 in weights/tesg-v2.1/, tesg-v1/, tesg-v2/ picked with --weights), through the README's main command:
 * `tesg fuse IR VI -o OUT` uses the network by default, its result beats the classic Laplacian
 * baseline on the bundled pairs on the paper's metrics (SD, SCD, VIF, Qabf; on the MSRS test subset
 * tesg-v2.2's means are 43.02/1.696/1.058/0.690 against 31.47/1.444/0.892/0.616, weights/README.md), and the
 * ONNX Runtime and tfjs backends give the same image within one grey level at full size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getFusionMethod } from '../src/fusion/index.js';
import { toGray } from '../src/image/color.js';
import { readImage } from '../src/image/read.js';
import { Qabf, SCD, SD, VIF } from '../src/metrics/index.js';
import { ROOT, tesg, tesgOk } from './helpers/cli.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-shipped-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const sample = (m: 'ir' | 'vi', stem: string) => path.join(ROOT, 'samples', 'msrs', m, `${stem}.png`);

/** The shipped models: the default tesg-v2.2 (weights/tesg.safetensors), and tesg-v2.1, tesg-v1 and tesg-v2 picked with --weights. */
const MODELS: Array<{ name: string; args: string[] }> = [
  { name: 'default (tesg-v2.2)', args: [] },
  { name: 'tesg-v2.1', args: ['--weights', path.join(ROOT, 'weights/tesg-v2.1/tesg.safetensors')] },
  { name: 'tesg-v1', args: ['--weights', path.join(ROOT, 'weights/tesg-v1/tesg.safetensors')] },
  { name: 'tesg-v2', args: ['--weights', path.join(ROOT, 'weights/tesg-v2/tesg.safetensors')] },
];
const tagOf = (name: string) => name.replace(/\W+/g, '-');

for (const model of MODELS) {
  for (const stem of ['00537D', '01102N']) {
    test(`${model.name}, ${stem}: the fuse is the shipped network and beats the Laplacian baseline`, async () => {
      const out = path.join(tmp, `${tagOf(model.name)}-${stem}.png`);
      const r = await tesgOk('fuse', sample('ir', stem), sample('vi', stem), '-o', out, ...model.args);
      assert.match(r.stdout, /, tesg \S+\.safetensors, SIG v\d, /, r.stdout);
      const [ir, vi, fused] = await Promise.all([readImage(sample('ir', stem)), readImage(sample('vi', stem)), readImage(out)]);
      assert.equal(fused.channels, 3, 'colour output (fused Y + VI chroma)');
      const lap = await getFusionMethod('laplacian').fuse(ir, vi);
      const [gi, gv, gf, gl] = [ir, vi, fused, lap].map(toGray);
      for (const [name, metric] of [['SD', SD], ['SCD', SCD], ['VIF', VIF], ['Qabf', Qabf]] as const) {
        const net = metric(gf, gi, gv), base = metric(gl, gi, gv);
        assert.ok(net > base, `${model.name} ${stem} ${name}: network ${net.toFixed(4)} should beat laplacian ${base.toFixed(4)}`);
      }
    });
  }

  test(`${model.name}: ONNX Runtime and tfjs run the weights to the same 640x480 image (within one grey level)`, async () => {
    const onnx = path.join(tmp, `${tagOf(model.name)}-onnx.png`), tfjs = path.join(tmp, `${tagOf(model.name)}-tfjs.png`);
    await tesgOk('fuse', sample('ir', '01102N'), sample('vi', '01102N'), '-o', onnx, '--backend', 'onnx', ...model.args);
    await tesgOk('fuse', sample('ir', '01102N'), sample('vi', '01102N'), '-o', tfjs, '--backend', 'tfjs', ...model.args);
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
}

test('tesg-v2 runs the SIG it was trained with (v2) unless told otherwise', async () => {
  const v2 = MODELS.find((m) => m.name === 'tesg-v2')!.args;
  const [auto, explicitV2, explicitV1] = ['auto', 'v2', 'v1'].map((v) => path.join(tmp, `v2-sig-${v}.png`));
  await tesgOk('fuse', sample('ir', '01102N'), sample('vi', '01102N'), '-o', auto, ...v2);
  await tesgOk('fuse', sample('ir', '01102N'), sample('vi', '01102N'), '-o', explicitV2, ...v2, '--sig-version', 'v2');
  await tesgOk('fuse', sample('ir', '01102N'), sample('vi', '01102N'), '-o', explicitV1, ...v2, '--sig-version', 'v1');
  const [a, b, c] = await Promise.all([auto, explicitV2, explicitV1].map((f) => readImage(f)));
  assert.deepEqual(a.data, b.data);
  // at night SIG v2 finds warm objects that v1 misses, so M and the fused image differ
  assert.notDeepEqual(a.data, c.data);
});

test('--sig: fusing from a SIG cache (tesg sig) gives the same image as running the SIG; a missing entry is a one-line error', async () => {
  const cache = path.join(tmp, 'sig'), outDir = path.join(tmp, 'from-cache'), ref = path.join(tmp, 'live-01102N.png');
  await tesgOk('sig', '--ir', path.join(ROOT, 'samples/msrs/ir'), '--vi', path.join(ROOT, 'samples/msrs/vi'), '--out', cache, '--sig-version', 'v3');
  await tesgOk('fuse', sample('ir', '01102N'), sample('vi', '01102N'), '-o', ref);
  const r = await tesgOk('fuse', '--ir', path.join(ROOT, 'samples/msrs/ir'), '--vi', path.join(ROOT, 'samples/msrs/vi'), '--out', outDir, '--sig', cache);
  assert.match(r.stdout, /fused 2, skipped 0 existing, failed 0/);
  const [live, cached] = await Promise.all([readImage(ref), readImage(path.join(outDir, '01102N.png'))]);
  assert.deepEqual(cached.data, live.data);
  // tesg-v2.1 (SIG v2) on this v3 cache: one warning whose command, run as printed (into a new folder), makes a cache it takes silently
  const v21 = ['--weights', path.join(ROOT, 'weights/tesg-v2.1/tesg.safetensors')];
  const warned = await tesgOk('fuse', '--ir', path.join(ROOT, 'samples/msrs/ir'), '--vi', path.join(ROOT, 'samples/msrs/vi'), '--out', path.join(tmp, 'v21-v3cache'), '--sig', cache, ...v21);
  const command = /^tesg fuse: warning: the SIG cache .* was made by SIG v3, but .*tesg-v2\.1.tesg\.safetensors was trained with SIG v2; rebuild it with `tesg (sig --ir \S+ --vi \S+ --sig-version v2 --force --out \S+)` \(or --out a new folder\)$/m.exec(warned.stderr);
  assert.ok(command, warned.stderr);
  assert.equal(warned.stderr.split('\n').filter((l) => l.includes('warning')).length, 1, 'once per run, not per pair');
  const cacheV2 = path.join(tmp, 'sig-v2');
  await tesgOk(...command[1].split(' ').slice(0, -1), cacheV2);
  const quiet = await tesgOk('fuse', '--ir', path.join(ROOT, 'samples/msrs/ir'), '--vi', path.join(ROOT, 'samples/msrs/vi'), '--out', path.join(tmp, 'v21-v2cache'), '--sig', cacheV2, ...v21);
  assert.doesNotMatch(quiet.stderr, /warning/);
  const empty = path.join(tmp, 'empty-sig');
  const missing = await tesg('fuse', sample('ir', '00537D'), sample('vi', '00537D'), '-o', path.join(tmp, 'x.png'), '--sig', empty);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /^tesg: error: .*text[/\\]00537D\.json: no SIG cache entry for '00537D'; run tesg sig on its folder first\n$/);
});
