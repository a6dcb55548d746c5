/**
 * Fine-tuning (`tesg train --init-weights FILE`): a new run starts from the file's parameters and
 * config, not from a seeded init. Real CLI runs on 3 tiny pairs: with a learning rate of 1e-12 one
 * step leaves the weights within 1e-6 of the file's (a seeded start would be ~0.1 away), the step
 * counter starts at 1, and the checkpoint and weights record where they came from (`tesg_init`,
 * with the SIG of the initial weights). Contradicting options are refused with one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tesg } from './helpers/cli.js';
import { TesgModel, TRAIN_STATE_PREFIX } from '../src/model/model.js';
import { readTensorFile, writeTensorFile } from '../src/model/safetensors.js';

import { CHECKPOINT_FILE, INIT_KEY, WEIGHTS_FILE } from '../src/training/checkpoint.js';
import { TINY } from './helpers/model-fixtures.js';
import { writeTrainFolder, type TrainFolder } from './helpers/train-folder.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const root = mkdtempSync(path.join(os.tmpdir(), 'tesg-train-init-'));
const folder = writeTrainFolder(root, 3, 40, 36);
test.after(() => rmSync(root, { recursive: true, force: true }));
const base = (f: TrainFolder, out: string, ...more: string[]) =>
  ['train', '--data', f.data, '--sig', f.sig, '--out', out, '--crop', '16', '--batch', '2', '--backend', 'wasm', ...more];

/** Largest |a - b| over the network parameters of two safetensors files. */
async function maxDiff(a: string, b: string): Promise<number> {
  const [ta, tb] = [await readTensorFile(a), await readTensorFile(b)];
  let m = 0;
  for (const [name, x] of ta.tensors) {
    if (name.startsWith(TRAIN_STATE_PREFIX)) continue;
    const y = tb.tensors.get(name)!.data;
    for (let i = 0; i < x.data.length; i++) m = Math.max(m, Math.abs(x.data[i] - y[i]));
  }
  return m;
}

test('--init-weights starts from the file: one step at lr 1e-12 stays within 1e-6 of it, and the run records its origin', async () => {
  const f = await folder;
  const a = path.join(root, 'a');
  const first = await tesg(...base(f, a, '--config', f.config, '--steps', '3', '--lr', '1e-2', '--seed', '5'));
  assert.equal(first.code, 0, first.stderr);
  const aWeights = path.join(a, WEIGHTS_FILE);
  const b = path.join(root, 'b');
  const tuned = await tesg(...base(f, b, '--init-weights', aWeights, '--steps', '1', '--lr', '1e-12'));
  assert.equal(tuned.code, 0, tuned.stderr);
  assert.match(tuned.stderr, /fine-tuning from .*a[/\\]tesg\.safetensors \(its config; a fresh optimizer, lr schedule and sampler\)/);
  assert.match(tuned.stdout, /trained to step 1\b/);
  assert.ok((await maxDiff(aWeights, path.join(b, WEIGHTS_FILE))) < 1e-6);
  // the same run from a seeded init is far from A: the test could tell the two starts apart
  const c = path.join(root, 'c');
  assert.equal((await tesg(...base(f, c, '--config', f.config, '--steps', '1', '--lr', '1e-12'))).code, 0);
  assert.ok((await maxDiff(aWeights, path.join(c, WEIGHTS_FILE))) > 1e-3);
  for (const file of [CHECKPOINT_FILE, WEIGHTS_FILE]) {
    const init = JSON.parse((await readTensorFile(path.join(b, file))).metadata[INIT_KEY]);
    assert.equal(init.weights, aWeights, file);
    assert.equal(init.sig.header.masker, 'test-fixture', file);
  }
  // a chain stays traceable: fine-tuning B records B's own origin inside
  const d = path.join(root, 'd');
  assert.equal((await tesg(...base(f, d, '--init-weights', path.join(b, WEIGHTS_FILE), '--steps', '1', '--lr', '1e-12'))).code, 0);
  const chain = JSON.parse((await readTensorFile(path.join(d, WEIGHTS_FILE))).metadata[INIT_KEY]);
  assert.equal(chain.init.weights, aWeights);
});

test('--init-weights refuses model options, --resume, a non-weights file and another text encoder, with one line', async () => {
  const f = await folder;
  const w = path.join(root, 'init.safetensors');
  const m = TesgModel.create(TINY, 1);
  await writeTensorFile(w, await m.toTensorFile());
  const other = path.join(root, 'other-encoder.safetensors');
  const o = TesgModel.create({ ...TINY, text_encoder: 'some-other-encoder', text_tokens: 77, text_dim: 32 }, 1);
  await writeTensorFile(other, await o.toTensorFile());
  m.dispose();
  o.dispose();
  const cases: Array<[string[], RegExp]> = [
    [['--init-weights', w, '--preset', 'v2'], /^tesg: error: --init-weights .*init\.safetensors brings its own model config: drop --preset\n$/],
    [['--init-weights', w, '--config', f.config, '--no-gaf'], /drop --config, --no-gaf\n$/],
    [['--init-weights', w, '--resume'], /--init-weights starts a new run from .*; --resume continues the checkpoint in --out: give one of them\n$/],
    [['--init-weights', f.config], /tiny\.json: not a readable safetensors file/],
    [['--init-weights', other], /other-encoder\.safetensors: the weights take 'some-other-encoder' embeddings \(77x32\) but the SIG cache holds 'tesg-lexicon-v1-77x64'/],
  ];
  for (const [more, re] of cases) {
    const r = await tesg(...base(f, path.join(root, `bad-${cases.findIndex((c) => c[0] === more)}`), '--steps', '1', ...more));
    assert.notEqual(r.code, 0, more.join(' '));
    // one error line, the last thing written (a run that got as far as reading data logs its set-up first)
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('tesg: error'));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(r.stderr.slice(r.stderr.lastIndexOf('tesg: error')), re, more.join(' '));
  }
});

test('--teacher (distillation): a run on a teacher\'s fused images records the folder and its weight; contradicting options and a missing image are refused with one line', async () => {
  const f = await folder;
  const teacher = path.join(root, 'teacher');
  const fused = await tesg('fuse', '--ir', path.join(f.data, 'ir'), '--vi', path.join(f.data, 'vi'), '--out', teacher, '--method', 'max');
  assert.equal(fused.code, 0, fused.stderr);
  const out = path.join(root, 'distill');
  const r = await tesg(...base(f, out, '--config', f.config, '--steps', '2', '--teacher', teacher, '--loss-weights', 'teacher=5'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /teacher .*teacher \(weight 5\)/);
  const state = JSON.parse((await readTensorFile(path.join(out, CHECKPOINT_FILE))).metadata.tesg_train) as { teacher?: string; lossWeights: { teacher?: number } };
  assert.equal(state.teacher, teacher);
  assert.equal(state.lossWeights.teacher, 5);
  // the log has the unweighted term in its own column, and the total includes 5 times it
  const [header, ...rows] = readFileSync(path.join(out, 'train-log.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  assert.equal(header.at(-1), 'teacher');
  assert.equal(rows.length, 2);
  for (const r of rows) {
    const cell = (name: string) => Number(r[header.indexOf(name)]);
    const paper = cell('ssim') + 4 * cell('intensity') + 10 * cell('gradient') + 12 * cell('color');
    assert.ok(cell('teacher') > 0, `teacher term ${cell('teacher')}`);
    assert.ok(Math.abs(cell('loss') - paper - 5 * cell('teacher')) < 1e-4 * cell('loss'), `loss ${cell('loss')} = paper terms ${paper} + 5 x ${cell('teacher')}`);
  }

  const cases: Array<[string[], RegExp]> = [
    [['--teacher', teacher], /--teacher .* needs a weight for its term: add teacher=W to --loss-weights/],
    [['--loss-weights', 'teacher=5'], /--loss-weights teacher=5 needs --teacher DIR/],
    [['--teacher', teacher, '--loss-weights', 'teacher=5', '--augment-gamma', 'ir=0.5'], /--teacher and --augment-gamma do not combine/],
    [['--teacher', path.join(root, 'no-teacher'), '--loss-weights', 'teacher=5'], /no-teacher\/\w+\.png: missing \(3 of 3 training pairs have no teacher image/],
  ];
  for (const [more, re] of cases) {
    const bad = await tesg(...base(f, path.join(root, `distill-bad-${cases.findIndex((c) => c[0] === more)}`), '--config', f.config, '--steps', '1', ...more));
    assert.notEqual(bad.code, 0, more.join(' '));
    const errors = bad.stderr.split('\n').filter((l) => l.startsWith('tesg: error'));
    assert.equal(errors.length, 1, bad.stderr);
    assert.match(errors[0], re, more.join(' '));
  }
});
