/**
 * `tesg fuse` end to end: the real CLI in a child process on the bundled samples/msrs pairs; folder
 * mode, resuming, pair mode against the library, and one-line errors with a non-zero exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { getFusionMethod } from '../src/fusion/index.js';
import { readImage } from '../src/image/read.js';
import { assertOneLineError, ROOT, tesg } from './helpers/cli.js';

const IR = path.join(ROOT, 'samples/msrs/ir'), VI = path.join(ROOT, 'samples/msrs/vi');
const V2 = path.join(ROOT, 'weights/tesg-v2/tesg.safetensors');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-fuse-cli-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('folder mode fuses both bundled pairs in colour, then resumes by skipping them', async () => {
  const out = path.join(tmp, 'folder');
  const first = await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /fused 2, skipped 0 existing, failed 0/);
  assert.deepEqual(readdirSync(out).sort(), ['00537D.png', '01102N.png', 'tesg-fuse.json']);
  // The provenance manifest `tesg eval --html` reads: method, weights (with their hash), SIG, command.
  const manifest = JSON.parse(readFileSync(path.join(out, 'tesg-fuse.json'), 'utf8'));
  assert.equal(manifest.runs.length, 1);
  assert.equal(manifest.runs[0].fused, 2);
  assert.match(manifest.runs[0].command, /^tesg fuse --ir /);
  if (manifest.runs[0].method === 'tesg') {
    assert.match(manifest.runs[0].weights.sha256, /^[0-9a-f]{16}$/);
    assert.match(manifest.runs[0].sig, /^built-in SIG v3 \(COCO CenterNet detector \+ IR warm objects at night, weak boxes confirmed/, 'the default tesg-v2.2 records SIG v3');
  }
  for (const f of readdirSync(out).filter((n) => n.endsWith('.png'))) {
    const img = await readImage(path.join(out, f));
    assert.deepEqual([img.width, img.height, img.channels], [640, 480, 3], f);
  }
  const mtime = statSync(path.join(out, '00537D.png')).mtimeMs;
  const again = await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out);
  assert.match(again.stdout, /fused 0, skipped 2 existing, failed 0/);
  assert.equal(statSync(path.join(out, '00537D.png')).mtimeMs, mtime);
  const redo = await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out, '--overwrite', '--method', 'max');
  assert.match(redo.stdout, /fused 2, skipped 0 existing/);
  const runs = JSON.parse(readFileSync(path.join(out, 'tesg-fuse.json'), 'utf8')).runs;
  assert.deepEqual(runs.map((r: { method: string; weights: unknown; sig: unknown }) => [r.weights === null, r.sig === null]).slice(1), [[true, true]]);
  assert.equal(runs.length, 2, 'the skip-all rerun adds no entry; the --overwrite run does');
  assert.equal(runs[1].method, 'max');
});

test('folder mode does not resume into a folder another model made: one line naming both, nothing written; --overwrite redoes it', async () => {
  const out = path.join(tmp, 'two-models');
  assert.equal((await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out, '--method', 'max')).code, 0);
  const before = readFileSync(path.join(out, '01102N.png'));
  const manifest = readFileSync(path.join(out, 'tesg-fuse.json'));
  rmSync(path.join(out, '00537D.png')); // a pair left to do: without the check it would be fused by the other method
  const other = await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out, '--method', 'average');
  assertOneLineError(other, new RegExp(`^tesg: error: ${out.replace(/[/.]/g, '\\$&')}: the latest run recorded in tesg-fuse\\.json fused with --method max, not --method average, and 1 existing image\\(s\\) would be kept; pass --overwrite to fuse them again, or give another --out$`));
  assert.deepEqual(readdirSync(out).sort(), ['01102N.png', 'tesg-fuse.json'], 'nothing fused');
  assert.deepEqual(readFileSync(path.join(out, 'tesg-fuse.json')), manifest, 'manifest untouched');
  // the same method resumes (the missing pair only); another one with --overwrite redoes both
  assert.match((await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out, '--method', 'max')).stdout, /fused 1, skipped 1 existing/);
  assert.deepEqual(readFileSync(path.join(out, '01102N.png')), before);
  assert.match((await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out, '--method', 'average', '--overwrite')).stdout, /fused 2, skipped 0 existing/);
  const runs = JSON.parse(readFileSync(path.join(out, 'tesg-fuse.json'), 'utf8')).runs as Array<{ method: string; fused: number; skipped: number; overwrite: boolean; finished: boolean }>;
  assert.deepEqual(runs.map((r) => [r.method, r.fused, r.skipped, r.overwrite, r.finished]), [['max', 2, 0, false, true], ['max', 1, 1, false, true], ['average', 2, 0, true, true]]);
});

test('a folder run records itself before its first pair: cut short, it resumes; an --overwrite run cut short does not leave the older images to a resume', async () => {
  const out = path.join(tmp, 'cut-short');
  const { fuseRunRecord, appendFuseManifest } = await import('../src/report/provenance.js');
  const startRecord = async (method: string, overwrite: boolean) => {
    const run = await fuseRunRecord({ method, params: {}, fused: 0, skipped: 0 });
    await appendFuseManifest(out, { ...run, started: run.date, overwrite, finished: false });
  };
  const fuseOne = async (stem: string, method: string) =>
    assert.equal((await tesg('fuse', path.join(IR, `${stem}.png`), path.join(VI, `${stem}.png`), '-o', path.join(out, `${stem}.png`), '--method', method)).code, 0);
  // what a max run killed after its first pair leaves: its start record and that pair's output
  mkdirSync(out);
  await startRecord('max', false);
  await fuseOne('00537D', 'max');
  assert.match((await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out, '--method', 'max')).stdout, /fused 1, skipped 1 existing/);
  // an average --overwrite run killed after redoing 01102N: 00537D is still max's
  await new Promise((r) => setTimeout(r, 20));
  await startRecord('average', true);
  await fuseOne('01102N', 'average');
  assertOneLineError(await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out, '--method', 'average'),
    /: the --overwrite run of \S+ \(tesg-fuse\.json\) was cut short; 1 image\(s\) it had not redone \(first: 00537D\.png\) may be from the earlier run with --method max; pass --overwrite/);
  assertOneLineError(await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out, '--method', 'max'),
    /: the latest run recorded in tesg-fuse\.json fused with --method average \(cut short after 0 image\(s\); images of earlier runs may remain\), not --method max, and 2 existing/);
  assert.match((await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out, '--method', 'average', '--overwrite')).stdout, /fused 2, skipped 0 existing/);
  assert.match((await tesg('fuse', '--ir', IR, '--vi', VI, '--out', out, '--method', 'average')).stdout, /fused 0, skipped 2 existing/);
});

test('pair mode writes what the library method gives (PNG exact, gray with --gray, JPEG by extension)', async () => {
  const [irFile, viFile] = [path.join(IR, '01102N.png'), path.join(VI, '01102N.png')];
  const png = path.join(tmp, 'pair', 'avg.png');
  const r = await tesg('fuse', irFile, viFile, '-o', png, '--method', 'average', '--gray');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote .*avg\.png \(640x480 gray, average/);
  const expected = await getFusionMethod('average').fuse(await readImage(irFile), await readImage(viFile), { gray: true });
  assert.deepEqual((await readImage(png)).data, expected.data);
  const jpg = path.join(tmp, 'pair', 'lap.jpg');
  assert.equal((await tesg('fuse', irFile, viFile, '-o', jpg)).code, 0);
  assert.deepEqual([...readFileSync(jpg).subarray(0, 3)], [0xff, 0xd8, 0xff]);
});

test('pair mode says which SIG ran: the one the weights record (v3 for the default tesg-v2.2, v2 for tesg-v2.1 and tesg-v2, v1 for tesg-v1), or --sig-version', async () => {
  const out = path.join(tmp, 'sig-note.png');
  const pair = [path.join(IR, '01102N.png'), path.join(VI, '01102N.png'), '-o', out];
  // the line names the model (its weights file, relative to the working folder) and the SIG
  assert.match((await tesg('fuse', ...pair)).stdout, /, tesg weights\/tesg\.safetensors, SIG v3, [\d.]+ s\)$/m);
  assert.match((await tesg('fuse', ...pair, '--weights', 'weights/tesg-v2.1/tesg.safetensors')).stdout, /, tesg weights\/tesg-v2\.1\/tesg\.safetensors, SIG v2, [\d.]+ s\)$/m);
  assert.match((await tesg('fuse', ...pair, '--weights', 'weights/tesg-v1/tesg.safetensors')).stdout, /, tesg weights\/tesg-v1\/tesg\.safetensors, SIG v1, [\d.]+ s\)$/m);
  assert.match((await tesg('fuse', ...pair, '--weights', V2)).stdout, /, tesg weights\/tesg-v2\/tesg\.safetensors, SIG v2, [\d.]+ s\)$/m);
  const other = await tesg('fuse', ...pair, '--weights', V2, '--sig-version', 'v1');
  assert.match(other.stdout, /, tesg weights\/tesg-v2\/tesg\.safetensors, SIG v1, /);
  // another SIG than the weights' is allowed, with one note saying so; the weights' own SIG gives none
  assert.equal(other.stderr, `tesg: note: --sig-version v1, but ${V2} was trained with SIG v2; its masks differ from those the model learnt from\n`);
  assert.equal((await tesg('fuse', ...pair, '--weights', V2, '--sig-version', 'v2')).stderr, '');
  const folder = path.join(tmp, 'sig-note-folder');
  assert.equal((await tesg('fuse', '--ir', IR, '--vi', VI, '--out', folder, '--weights', V2)).code, 0);
  assert.match(JSON.parse(readFileSync(path.join(folder, 'tesg-fuse.json'), 'utf8')).runs[0].sig, /^built-in SIG v2 \(COCO CenterNet detector \+ IR warm objects/);
});

test('--weights errors: a missing file says so (not "pass --weights"), an .onnx names the .safetensors to give', async () => {
  const pair = [path.join(IR, '00537D.png'), path.join(VI, '00537D.png'), '-o', path.join(tmp, 'w.png')];
  assertOneLineError(await tesg('fuse', ...pair, '--weights', 'no/such/w.safetensors'),
    /^tesg: error: no\/such\/w\.safetensors: no such weights file; give a tesg\.safetensors/);
  assertOneLineError(await tesg('fuse', ...pair, '--weights', 'weights/tesg.onnx'),
    /^tesg: error: --weights takes the \.safetensors file \(weights\/tesg\.safetensors\); the \.onnx beside it is then run by ONNX Runtime$/);
});

test('a missing input: exit 2 and one line naming the file', async () => {
  const r = await tesg('fuse', 'no/such/ir.png', path.join(VI, '00537D.png'), '-o', path.join(tmp, 'x.png'));
  assertOneLineError(r, /^tesg: error: no\/such\/ir\.png: no such file; check the path$/);
});

test('errors: truncated input, output onto an input, out folder = input folder, bad method, no arguments', async () => {
  const half = path.join(tmp, 'half.png');
  const bytes = readFileSync(path.join(IR, '00537D.png'));
  writeFileSync(half, bytes.subarray(0, bytes.length >> 1));
  assertOneLineError(await tesg('fuse', half, path.join(VI, '00537D.png'), '-o', path.join(tmp, 'y.png')), /half\.png: corrupt or truncated PNG/);
  const before = readFileSync(path.join(VI, '00537D.png'));
  assertOneLineError(await tesg('fuse', path.join(IR, '00537D.png'), path.join(VI, '00537D.png'), '-o', path.join(VI, '00537D.png')), /refusing to write .*00537D\.png: it is the input/);
  assert.deepEqual(readFileSync(path.join(VI, '00537D.png')), before);
  assertOneLineError(await tesg('fuse', '--ir', IR, '--vi', VI, '--out', IR), /is the IR input folder/);
  assertOneLineError(await tesg('fuse', '--ir', IR, '--vi', VI, '--out', path.join(tmp, 'm'), '--method', 'nope'), /unknown fusion method 'nope'; available: average, max, laplacian/);
  assertOneLineError(await tesg('fuse'), /nothing to fuse/);
});

test('usage errors (unknown option or command, missing option value) are one line with exit 2, not a screen of help', async () => {
  assertOneLineError(await tesg('fuse', '--bogus'), /^tesg: error: unknown option '--bogus' \(--help lists the options\)$/);
  assertOneLineError(await tesg('fuze'), /^tesg: error: unknown command 'fuze' \(Did you mean fuse\?\) \(tesg --help lists the commands\)$/);
  assertOneLineError(await tesg('eval', '--ir', IR), /required option '--vi <dir>' not specified/);
  const r = await tesg('fuse', '--weights');
  assertOneLineError(r, /option '--weights <file>' argument missing/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  const help = await tesg('fuse', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: tesg fuse/);
});

test('folder errors: unmatched files listed (or skipped with --allow-missing); size mismatch names both files', async () => {
  const ir = path.join(tmp, 'ir'), vi = path.join(tmp, 'vi');
  mkdirSync(ir);
  mkdirSync(vi);
  for (const f of ['00537D.png', '01102N.png']) copyFileSync(path.join(IR, f), path.join(ir, f));
  copyFileSync(path.join(VI, '00537D.png'), path.join(vi, '00537D.png'));
  await sharp(path.join(VI, '01102N.png')).resize(320, 240).jpeg().toFile(path.join(vi, '01102N.jpg'));
  copyFileSync(path.join(IR, '00537D.png'), path.join(ir, 'lonely.png'));
  assertOneLineError(await tesg('fuse', '--ir', ir, '--vi', vi, '--out', path.join(tmp, 'o1')), /1 file\(s\) without a partner of the same name stem \(ir: lonely\.png\)/);
  const r = await tesg('fuse', '--ir', ir, '--vi', vi, '--out', path.join(tmp, 'o2'), '--allow-missing');
  assertOneLineError(r, /1 of 2 pairs failed \(first: size mismatch: .*ir\/01102N\.png is 640x480 but .*vi\/01102N\.jpg is 320x240/);
  assert.match(r.stderr, /skipped 1 file\(s\) without a partner: lonely\.png/);
  assert.deepEqual(readdirSync(path.join(tmp, 'o2')).sort(), ['00537D.png', 'tesg-fuse.json'], 'the good pair is still written');
  const empty = path.join(tmp, 'empty');
  mkdirSync(empty);
  assertOneLineError(await tesg('fuse', '--ir', empty, '--vi', vi, '--out', path.join(tmp, 'o3')), new RegExp(`^tesg: error: ${empty.replace(/[/.]/g, '\\$&')}: no images here \\(png jpg jpeg bmp tif tiff\\); give the --ir folder that holds them$`));
});

test('network options with a classic method are named as ignored; tesg --version prints package.json\'s version', async () => {
  const r = await tesg('fuse', path.join(IR, '00537D.png'), path.join(VI, '00537D.png'), '-o', path.join(tmp, 'max-note.png'), '--method', 'max', '--weights', 'x.safetensors', '--sig-version', 'v2');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^tesg: note: --method max is a classic baseline; --weights, --sig-version only apply to --method tesg and are ignored\n$/);
  const v = await tesg('--version');
  assert.equal(v.stdout.trim(), JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
});

test('an output path that cannot be written is refused before any work, with one line: a folder for -o, a file for --out, a path under a file', async () => {
  const dir = path.join(tmp, 'outpaths');
  mkdirSync(path.join(dir, 'a-folder.png'), { recursive: true });
  writeFileSync(path.join(dir, 'a-file.png'), 'not a folder');
  const pair = [path.join(IR, '01102N.png'), path.join(VI, '01102N.png')];
  assertOneLineError(await tesg('fuse', ...pair, '-o', path.join(dir, 'a-folder.png')), /a-folder\.png: is a folder; -o takes the fused image's file name/);
  assertOneLineError(await tesg('fuse', ...pair, '-o', path.join(dir, 'a-file.png', 'out.png')), /a-file\.png: is a file, so .*out\.png cannot be created under it/);
  assertOneLineError(await tesg('fuse', '--ir', IR, '--vi', VI, '--out', path.join(dir, 'a-file.png')), /a-file\.png: is a file; --out takes a folder/);
  assertOneLineError(await tesg('fuse', '--ir', IR, '--vi', VI, '--out', path.join(dir, 'a-file.png', 'sub')), /a-file\.png: is a file, so .*sub cannot be created under it/);
  assert.equal(readFileSync(path.join(dir, 'a-file.png'), 'utf8'), 'not a folder', 'nothing written over it');
});
