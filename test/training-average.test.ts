/**
 * `tesg average-weights` (src/training/average.ts, WiSE-FT): real CLI runs on two tiny models of one
 * config. The result is sum_k c_k W_k parameter by parameter, carries the first file's config and SIG
 * record plus where it came from, loads as a model, and mixes 1,0 to the first model exactly; bad
 * mixes, other configs and non-weights are one-line errors that write nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TesgModel } from '../src/model/model.js';
import { readTensorFile, writeTensorFile } from '../src/model/safetensors.js';
import { AVERAGE_KEY } from '../src/training/average.js';
import { SIG_KEY } from '../src/training/checkpoint.js';
import { assertOneLineError, tesg, tesgOk } from './helpers/cli.js';
import { TINY } from './helpers/model-fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-average-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const SIG_A = JSON.stringify({ header: { version: 1, masker: 'detector+ir-warm-v3:vladmandic-human-centernet-mb3' } });
const SIG_B = JSON.stringify({ header: { version: 1, masker: 'detector+ir-warm:vladmandic-human-centernet-mb3' } });

/** A tiny model with seed `seed` written with a SIG record; returns its path. */
async function tiny(name: string, seed: number, sig: string, config = TINY): Promise<string> {
  const model = TesgModel.create(config, seed);
  const file = path.join(tmp, name);
  await writeTensorFile(file, await model.toTensorFile({ metadata: { [SIG_KEY]: sig } }));
  model.dispose();
  return file;
}

test('0.25 A + 0.75 B parameter by parameter; A\'s config and SIG; the sources recorded; it loads; 1,0 is A exactly', async () => {
  const [a, b] = [await tiny('a.safetensors', 1, SIG_A), await tiny('b.safetensors', 2, SIG_B)];
  const out = path.join(tmp, 'mix.safetensors');
  const r = await tesgOk('average-weights', a, b, '--mix', '0.25,0.75', '-o', out);
  assert.match(r.stdout, /^wrote .*mix\.safetensors = 0\.25 x .*a\.safetensors \+ 0\.75 x .*b\.safetensors; SIG v3 \(.*a\.safetensors's record\)\n/);
  // A (SIG v3) and B (SIG v2) disagree: one note says which SIG the average will run
  assert.match(r.stderr, /^tesg: note: the inputs were trained with different SIGs \(.*a\.safetensors: v3, .*b\.safetensors: v2\); the average records the first one's \(v3\), which tesg fuse will run\n$/);
  const [ta, tb, tm] = await Promise.all([a, b, out].map((f) => readTensorFile(f)));
  assert.equal(tm.tensors.size, ta.tensors.size);
  let worst = 0, moved = 0;
  for (const [name, x] of tm.tensors) {
    const [xa, xb] = [ta.tensors.get(name)!.data, tb.tensors.get(name)!.data];
    for (let i = 0; i < x.data.length; i++) {
      worst = Math.max(worst, Math.abs(x.data[i] - (0.25 * xa[i] + 0.75 * xb[i])));
      moved = Math.max(moved, Math.abs(x.data[i] - xa[i]));
    }
  }
  assert.ok(worst < 1e-6, `max |mix - (0.25 a + 0.75 b)| = ${worst}`);
  assert.ok(moved > 1e-2, 'the two seeds differ, so the test can tell a mix from a copy');
  assert.equal(tm.metadata.tesg_config, ta.metadata.tesg_config);
  assert.equal(tm.metadata[SIG_KEY], SIG_A);
  const record = JSON.parse(tm.metadata[AVERAGE_KEY]);
  assert.deepEqual(record.sources.map((s: { coefficient: number; sigMasker: string }) => [s.coefficient, s.sigMasker]), [
    [0.25, 'detector+ir-warm-v3:vladmandic-human-centernet-mb3'],
    [0.75, 'detector+ir-warm:vladmandic-human-centernet-mb3'],
  ]);
  (await TesgModel.load(out)).dispose();
  const same = path.join(tmp, 'same.safetensors');
  await tesgOk('average-weights', a, b, '--mix', '1,0', '-o', same);
  for (const [name, x] of (await readTensorFile(same)).tensors) assert.deepEqual(x.data, ta.tensors.get(name)!.data, name);
  // thirds as a user types them: within the tolerance, scaled to sum to 1 (equal thirds of A, B, A)
  const thirds = path.join(tmp, 'thirds.safetensors');
  const t = await tesgOk('average-weights', a, b, a, '--mix', '0.333,0.333,0.333', '-o', thirds);
  assert.match(t.stdout, /= 0\.333333 x .*a\.safetensors \+ 0\.333333 x .*b\.safetensors \+ 0\.333333 x /);
  let off = 0;
  for (const [name, x] of (await readTensorFile(thirds)).tensors) {
    const [xa, xb] = [ta.tensors.get(name)!.data, tb.tensors.get(name)!.data];
    for (let i = 0; i < x.data.length; i++) off = Math.max(off, Math.abs(x.data[i] - (2 * xa[i] + xb[i]) / 3));
  }
  assert.ok(off < 1e-6, `thirds off by ${off}`);
});

test('bad mixes, another config, a non-weights file, -o on an input: one line, exit 2, nothing written', async () => {
  const [a, b] = [await tiny('a2.safetensors', 3, SIG_A), await tiny('b2.safetensors', 4, SIG_A)];
  const wide = await tiny('wide.safetensors', 5, SIG_A, { ...TINY, dim: 16 });
  const junk = path.join(tmp, 'junk.safetensors');
  writeFileSync(junk, 'not weights');
  const out = path.join(tmp, 'never.safetensors');
  const cases: Array<[string[], RegExp]> = [
    [[a, b, '--mix', '0.5,0.6'], /--mix coefficients must sum to 1 \(within 0\.001\), these sum to 1\.1 \(--mix 0\.5,0\.6\)/],
    [[a, b, '--mix', '1'], /--mix has 1 coefficient\(s\) for 2 weights files/],
    [[a, b, '--mix', '1.5,-0.5'], /--mix coefficients must be numbers >= 0/],
    [[a, b, '--mix', '0.5,x'], /--mix coefficients must be numbers >= 0 \(--mix 0\.5,x\)/],
    [[a, '--mix', '1'], /give at least two weights files/],
    [[a, wide, '--mix', '0.5,0.5'], /wide\.safetensors: its model config differs from .*a2\.safetensors's; only models of one config can be averaged/],
    [[a, junk, '--mix', '0.5,0.5'], /junk\.safetensors: not a tesg weights file/],
  ];
  cases.push([[a, b, '--mix', '0.5,0.5', '-o', b], /is one of the inputs/], [[a, b, '--mix', '0.5,0.5', '-o', path.join(tmp, 'x.onnx')], /name the weights file \.safetensors/]);
  const results = await Promise.all(cases.map(([args]) => tesg('average-weights', ...args, ...(args.includes('-o') ? [] : ['-o', out]))));
  for (const [k, r] of results.entries()) assertOneLineError(r, cases[k][1]);
  assert.equal(existsSync(out), false);
});
