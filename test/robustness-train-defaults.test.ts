/**
 * Defaults that must fit what the user chose (issue 13, item 4): `tesg train --batch 3` without
 * --micro-batch runs on every backend (it failed on wasm with "--micro-batch 2 must divide --batch 3"),
 * and a resume whose checkpoint batch differs from the CLI's default --batch still runs. Real CLI runs
 * (child processes) on 3 tiny pairs written to disk with their SIG cache; they also check that the
 * weights and the checkpoint record the SIG cache they were trained on (`tesg_sig`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readTensorFile } from '../src/model/safetensors.js';
import { torchUnavailableReason } from '../src/runtime/torch.js';
import { CHECKPOINT_FILE, SIG_KEY, WEIGHTS_FILE } from '../src/training/checkpoint.js';
import { largestDivisorUpTo } from '../src/training/trainer.js';
import { writeTrainFolder, type TrainFolder } from './helpers/train-folder.js';
import { assertOneLineError, tesg } from './helpers/cli.js';

const rows = (out: string) => readFileSync(path.join(out, 'train-log.csv'), 'utf8').trim().split('\n').length - 1;
const trainArgs = (f: TrainFolder, out: string, ...more: string[]) =>
  ['train', '--data', f.data, '--sig', f.sig, '--out', out, '--config', f.config, '--crop', '16', '--checkpoint-every', '1', ...more];

test('the default micro-batch is the largest divisor of the batch up to 2', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((b) => largestDivisorUpTo(b, 2)), [1, 2, 1, 2, 1, 2, 1, 2]);
  assert.equal(largestDivisorUpTo(6, 4), 3);
  assert.equal(largestDivisorUpTo(9, 4), 3);
  assert.equal(largestDivisorUpTo(4, 0), 1);
});

const root = mkdtempSync(path.join(os.tmpdir(), 'tesg-train-defaults-'));
const folder = writeTrainFolder(root, 3, 40, 36);
test.after(() => rmSync(root, { recursive: true, force: true }));

for (const backend of ['wasm', 'torch'] as const) {
  const skip = backend === 'torch' ? (torchUnavailableReason() ?? false) : false;
  test(`tesg train --batch 3 --backend ${backend} without --micro-batch runs; so does a resume at the CLI's default --batch 8; the SIG is recorded`, { skip }, async () => {
    const f = await folder;
    const out = path.join(root, `run-${backend}`);
    const first = await tesg(...trainArgs(f, out, '--backend', backend, '--batch', '3', '--steps', '2'));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /trained to step 2/);
    assert.match(first.stderr, /SIG: captioner test-fixture, masker test-fixture, text encoder tesg-lexicon-v1-77x64/);
    assert.equal(rows(out), 2);
    // the checkpoint holds batch 3; --batch is not given, so the CLI's default (8) must not get in the way
    const resumed = await tesg(...trainArgs(f, out, '--backend', backend, '--steps', '3', '--resume'));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(rows(out), 3);
    const header = JSON.parse(readFileSync(path.join(f.sig, 'sig.json'), 'utf8'));
    for (const file of [WEIGHTS_FILE, CHECKPOINT_FILE]) {
      const meta = (await readTensorFile(path.join(out, file))).metadata;
      assert.deepEqual(JSON.parse(meta[SIG_KEY]), { header }, file);
    }
  });
}

test('a base_fusion max model (the shipped models\' kind) trains on tfjs-wasm as on libtorch: the same loss at step 1, within 1e-3 at step 2', { skip: torchUnavailableReason() ?? false }, async () => {
  const f = await folder;
  // the v2 preset's shape, narrowed so a step takes a moment; the base max(IR, Y_VI) with its luma weights
  const config = path.join(root, 'tiny-u-max.json');
  writeFileSync(config, JSON.stringify({ dim: 4, heads: 1, level_dims: [8, 8], level_heads: [2, 2], enc_blocks: 2, dec_blocks: 2, enc_level_blocks: [0, 1, 1], dec_level_blocks: [1, 0, 1], fusion_level: 1, base_fusion: 'max' }));
  const losses: number[][] = [];
  for (const backend of ['wasm', 'torch']) {
    const out = path.join(root, `run-max-${backend}`);
    const r = await tesg('train', '--data', f.data, '--sig', f.sig, '--out', out, '--config', config, '--crop', '16', '--batch', '2', '--steps', '2', '--seed', '3', '--backend', backend);
    assert.equal(r.code, 0, r.stderr);
    const lines = readFileSync(path.join(out, 'train-log.csv'), 'utf8').trim().split('\n');
    const col = lines[0].split(',').indexOf('loss');
    losses.push(lines.slice(1).map((l) => Number(l.split(',')[col])));
  }
  const [wasm, torch] = losses;
  assert.ok(Math.abs(wasm[0] - torch[0]) < 1e-5 * torch[0], `step 1: wasm ${wasm[0]}, torch ${torch[0]}`);
  assert.ok(Math.abs(wasm[1] - torch[1]) < 1e-3 * torch[1], `step 2: wasm ${wasm[1]}, torch ${torch[1]}`);
  assert.notEqual(wasm[1], wasm[0], 'the step changed the model');
});

test('a new run without --preset or --config builds the shipped models\' network (preset v2) and says so; --preset v1 builds tesg-v1\'s', async () => {
  const f = await folder;
  const configOf = async (out: string) => JSON.parse((await readTensorFile(path.join(out, WEIGHTS_FILE))).metadata.tesg_config);
  const [dflt, v1] = [path.join(root, 'run-default'), path.join(root, 'run-v1')];
  const a = await tesg('train', '--data', f.data, '--sig', f.sig, '--out', dflt, '--crop', '16', '--batch', '2', '--steps', '1', '--backend', 'wasm');
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stderr, /; model: preset v2 \(the default\)\n/);
  const b = await tesg('train', '--data', f.data, '--sig', f.sig, '--out', v1, '--crop', '16', '--batch', '2', '--steps', '1', '--backend', 'wasm', '--preset', 'v1');
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /; model: preset v1\n/);
  const [ca, cb] = [await configOf(dflt), await configOf(v1)];
  assert.deepEqual([ca.level_dims, ca.base_fusion, ca.fusion_level], [[16, 32], 'max', 1]);
  assert.deepEqual([cb.level_dims, cb.base_fusion, cb.dim], [[], 'none', 16]);
  // an option the default preset cannot take names the preset it came from and the way out
  const rgb = await tesg('train', '--data', f.data, '--sig', f.sig, '--out', path.join(root, 'run-rgb'), '--crop', '16', '--steps', '1', '--output', 'rgb');
  assertOneLineError(rgb, /^tesg: error: the default preset v2 \(--preset v1 builds tesg-v1's full-resolution network\): base_fusion 'max' needs output 'y'$/);
});

test('an explicit --micro-batch that does not divide --batch is still a one-line usage error', async () => {
  const f = await folder;
  const r = await tesg(...trainArgs(f, path.join(root, 'run-explicit'), '--backend', 'wasm', '--batch', '3', '--micro-batch', '2', '--steps', '1'));
  assertOneLineError(r, /^tesg: error: --micro-batch 2 must divide --batch 3$/);
});
