/**
 * Every command that writes somewhere refuses an output path it cannot write before any work, with
 * one line naming the path (src/util/output-path.ts): a file where it writes a folder, a folder where
 * it writes a file, a path under an existing file. No inputs need to exist: the check comes before
 * any reading or model loading, so each case is a CLI start and nothing more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkOutputPath } from '../src/util/output-path.js';
import { assertOneLineError, ROOT, tesg } from './helpers/cli.js';

const IR = path.join(ROOT, 'samples/msrs/ir'), VI = path.join(ROOT, 'samples/msrs/vi');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-out-paths-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const FILE = path.join(tmp, 'a-file'); // an existing file
const DIR = path.join(tmp, 'a-folder.out'); // an existing folder
const MODEL_DIR = path.join(tmp, 'a-folder.onnx'); // existing folders named like the files export, figure and plot-log write
const PNG_DIR = path.join(tmp, 'a-folder.png');
writeFileSync(FILE, 'keep me');
mkdirSync(DIR);
mkdirSync(MODEL_DIR);
mkdirSync(PNG_DIR);
const UNDER = /a-file: is a file, so .*a-file[\\/]sub.* cannot be created under it; choose another output path/;

/** A folder output given an existing file (a) and a path under a file (b). */
async function folderCases(args: (out: string) => string[], isFile: RegExp): Promise<void> {
  const [a, b] = await Promise.all([tesg(...args(FILE)), tesg(...args(path.join(FILE, 'sub')))]);
  assertOneLineError(a, isFile);
  assertOneLineError(b, UNDER);
}

/** A file output given an existing folder (c) and a path under a file (b). */
async function fileCases(args: (out: string) => string[], folder: string, isFolder: RegExp, name: string): Promise<void> {
  const [c, b] = await Promise.all([tesg(...args(folder)), tesg(...args(path.join(FILE, 'sub', name)))]);
  assertOneLineError(c, isFolder);
  assertOneLineError(b, UNDER);
}

test('checkOutputPath: what each kind accepts and refuses, with the caller\'s hint', () => {
  assert.doesNotThrow(() => checkOutputPath(path.join(tmp, 'new', 'deeper'), 'folder'));
  assert.doesNotThrow(() => checkOutputPath(DIR, 'folder'));
  assert.doesNotThrow(() => checkOutputPath(FILE, 'file'));
  assert.doesNotThrow(() => checkOutputPath(path.join(DIR, 'x.png'), 'file'));
  assert.throws(() => checkOutputPath(FILE, 'folder', 'give DIR'), { name: 'InputError', message: `${FILE}: is a file; give DIR` });
  assert.throws(() => checkOutputPath(`${FILE}/`, 'folder', 'give DIR'), { name: 'InputError', message: `${FILE}/: is a file; give DIR` });
  assert.throws(() => checkOutputPath(DIR, 'file', 'give FILE'), { name: 'InputError', message: `${DIR}: is a folder; give FILE` });
  assert.throws(() => checkOutputPath(DIR, 'file'), /is a folder; the output is a file: give a file name, not a folder/);
  assert.throws(() => checkOutputPath(path.join(FILE, 'a', 'b'), 'file'), { name: 'InputError', message: `${FILE}: is a file, so ${path.join(FILE, 'a', 'b')} cannot be created under it; choose another output path` });
});

test('sig --out: a file, or a path under one', async () => {
  await folderCases((out) => ['sig', '--ir', IR, '--vi', VI, '--out', out], /a-file: is a file; --out takes a folder \(created if missing\) for the SIG cache/);
});

test('eval --out: refused before any metric is computed', async () => {
  await folderCases((out) => ['eval', '--ir', IR, '--vi', VI, '--fused', `x=${VI}`, '--out', out], /a-file: is a file; --out takes a folder .*for per-image\.csv/);
});

test('train --out: refused before the backend or any data is loaded', async () => {
  await folderCases((out) => ['train', '--data', path.join(tmp, 'no-data'), '--sig', path.join(tmp, 'no-sig'), '--out', out], /a-file: is a file; --out takes a run folder .*for checkpoint\.safetensors/);
});

test('downstream detect, segment and seg-table --out', async () => {
  await folderCases((out) => ['downstream', 'detect', '--labels', path.join(tmp, 'no-labels'), '--method', `x=${VI}`, '--out', out], /a-file: is a file; --out takes a folder .*detection\.md/);
  const missing = path.join(tmp, 'missing');
  assertOneLineError(
    await tesg('downstream', 'segment', '--train-images', missing, '--train-labels', missing, '--test-images', missing, '--test-labels', missing, '--out', FILE),
    /a-file: is a file; --out takes a run folder/,
  );
  assertOneLineError(await tesg('downstream', 'seg-table', missing, '--out', path.join(FILE, 'sub')), UNDER);
});

test('export -o: a folder, or a path under a file', async () => {
  await fileCases((out) => ['export', '--weights', path.join(tmp, 'no.safetensors'), '-o', out], MODEL_DIR, /a-folder\.onnx: is a folder; -o takes the \.onnx model's file name/, 'model.onnx');
});

test('figure -o: a folder, or a path under a file', async () => {
  await fileCases((out) => ['figure', '--ir', IR, '--vi', VI, '--images', '00537D', '-o', out], PNG_DIR, /a-folder\.png: is a folder; -o takes the figure's file name \(\.png, \.svg or \.pdf\)/, 'fig.png');
});

test('plot-log -o: a folder named .png, or a path under a file', async () => {
  await fileCases((out) => ['plot-log', path.join(tmp, 'no-run', 'train-log.csv'), '-o', out], PNG_DIR, /a-folder\.png: is a folder; -o takes the plot's file name \(\.png or \.svg\)/, 'loss.png');
});

test('fuse-video -o: DIR/ that is a file, or a video path under a file', async () => {
  const [dirOut, under] = await Promise.all([
    tesg('fuse-video', path.join(tmp, 'ir.mp4'), path.join(tmp, 'vi.mp4'), '-o', `${FILE}/`),
    tesg('fuse-video', path.join(tmp, 'ir.mp4'), path.join(tmp, 'vi.mp4'), '-o', path.join(FILE, 'sub', 'out.mp4')),
  ]);
  assertOneLineError(dirOut, /a-file\/: is a file; -o DIR\/ takes a folder/);
  assertOneLineError(under, UNDER);
});

test('queue add and add-video -o: refused before Redis is reached (none runs for this test)', async () => {
  const redis = ['--redis', 'redis://127.0.0.1:1'];
  await folderCases((out) => ['queue', 'add', '--ir', 'samples/msrs/ir', '--vi', 'samples/msrs/vi', '-o', out, ...redis], /a-file: is a file; -o takes the output folder/);
  const [a, b] = await Promise.all([
    tesg('queue', 'add-video', 'samples/msrs/ir', 'samples/msrs/vi', '-o', `${FILE}/`, ...redis),
    tesg('queue', 'add-video', 'samples/msrs/ir', 'samples/msrs/vi', '-o', path.join(FILE, 'sub', 'x.mp4'), ...redis),
  ]);
  assertOneLineError(a, /a-file\/: is a file; -o DIR\/ takes a folder/);
  assertOneLineError(b, UNDER);
  // an unknown --sig-version too: each worker would fail every job on it
  const bad = await tesg('queue', 'add', '--ir', 'samples/msrs/ir', '--vi', 'samples/msrs/vi', '-o', path.join(tmp, 'q-out'), '--sig-version', 'v9', ...redis);
  assertOneLineError(bad, /--sig-version must be one of v1, v2, v3, got 'v9'/);
  const badVideo = await tesg('queue', 'add-video', 'samples/msrs/ir', 'samples/msrs/vi', '-o', path.join(tmp, 'q.mp4'), '--sig-version', 'v9', ...redis);
  assertOneLineError(badVideo, /--sig-version must be one of v1, v2, v3, got 'v9'/);
});

test('nothing was written over the file or into the folders', () => {
  assert.equal(readFileSync(FILE, 'utf8'), 'keep me');
  for (const d of [DIR, MODEL_DIR, PNG_DIR]) assert.deepEqual(readdirSync(d), [], d);
});
