/**
 * `tesg fuse-video` when the inputs do not match, or are broken: one-line errors that say what differs
 * (rate, length, size) or name the broken file, exit 2, nothing written; and --sync fps / shortest,
 * which pair such inputs in time (checked frame by frame on lossless clips of real TNO frames).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getFusionMethod } from '../src/fusion/index.js';
import { readImage } from '../src/image/read.js';
import { pairFrames, sourceIndex } from '../src/video/pairing.js';
import type { SourceInfo } from '../src/video/probe.js';
import { assertOneLineError, encodeClip, ffmpeg, NATO, NATO_FIRST, pngs, probe, sequenceFolder, tesg, videoSkip } from './helpers/video-clips.js';

const skip = videoSkip();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-video-errors-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const p = (...parts: string[]) => path.join(tmp, ...parts);
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

const clip = (name: string, modality: 'ir' | 'vi', offsets: number[], opts: Parameters<typeof encodeClip>[2] = {}) =>
  encodeClip(sequenceFolder(p('src', name), modality, offsets), p(`${name}.${opts.codec === 'x264' ? 'mp4' : 'mkv'}`), opts);

test('different frame rates: one line naming both files and rates; --sync fps pairs by time', { skip }, async () => {
  const ir = clip('ir25', 'ir', range(12));
  const vi = clip('vi50', 'vi', range(24, 4), { fps: '50' });
  const r = await tesg('fuse-video', ir, vi, '-o', p('x.mp4'), '-m', 'average');
  assertOneLineError(r, /^tesg: error: frame rates differ: IR .*ir25\.mkv is 25 fps, VI .*vi50\.mkv is 50 fps; pass --sync fps to resample the faster input to the slower rate$/);
  assert.ok(!existsSync(p('x.mp4')) && !existsSync(p('x.mp4.tesg-work')));
  const out = p('sync-fps');
  const ok = await tesg('fuse-video', ir, vi, '-o', out + '/', '-m', 'average', '--sync', 'fps');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /12 frames, 360x270, 25 fps/);
  // Output frame j (at j/25 s) fuses IR frame j with VI frame 2j (also at j/25 s): VI offset 4 + 2j.
  const avg = getFusionMethod('average');
  const files = pngs(out);
  for (const j of [0, 5, 11]) {
    const irImg = await readImage(path.join(NATO, 'ir', `${NATO_FIRST + j}.png`));
    const viImg = await readImage(path.join(NATO, 'vi', `${NATO_FIRST + 4 + 2 * j}.png`));
    assert.deepEqual((await readImage(path.join(out, files[j]))).data, (await avg.fuse(irImg, viImg)).data, `frame ${j}`);
  }
});

test('different lengths: one line with both counts; --sync shortest fuses the common frames', { skip }, async () => {
  const ir = clip('ir12', 'ir', range(12));
  const vi = clip('vi9', 'vi', range(9));
  assertOneLineError(await tesg('fuse-video', ir, vi, '-o', p('y.mp4'), '-m', 'average'), /^tesg: error: lengths differ: IR .*ir12\.mkv has 12 frames, VI .*vi9\.mkv has 9; pass --sync shortest to fuse the first 9 frames$/);
  const ok = await tesg('fuse-video', ir, vi, '-o', p('short.mp4'), '-m', 'average', '--sync', 'shortest');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(probe(p('short.mp4')).frames, 9);
});

test('different frame sizes: the usual size error', { skip }, async () => {
  const ir = clip('ir-full', 'ir', range(4));
  const small = p('vi-small.mkv');
  ffmpeg(['-framerate', '25', '-i', path.join(p('src', 'ir-full'), '%05d.png'), '-vf', 'scale=180:136', '-c:v', 'ffv1', small]);
  assertOneLineError(await tesg('fuse-video', ir, small, '-o', p('z.mp4')), /^tesg: error: size mismatch: .*ir-full\.mkv is 360x270 but .*vi-small\.mkv is 180x136; the two images must be aligned and the same size$/);
});

test('a corrupt or truncated video, a missing one: one line naming the file', { skip }, async () => {
  const good = clip('ir-good', 'ir', range(6), { codec: 'x264' });
  const vi = clip('vi-good', 'vi', range(6), { codec: 'x264' });
  const bytes = readFileSync(good);
  // x264 in mp4 without faststart: the index (moov) is at the end, so half a file has none.
  writeFileSync(p('half.mp4'), bytes.subarray(0, bytes.length >> 1));
  assertOneLineError(await tesg('fuse-video', p('half.mp4'), vi, '-o', p('o1.mp4')), /^tesg: error: .*half\.mp4: not a readable video \(ffprobe: moov atom not found; Invalid data found when processing input\); check that the file is complete, or re-export it$/);
  writeFileSync(p('noise.mkv'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 255)));
  assertOneLineError(await tesg('fuse-video', good, p('noise.mkv'), '-o', p('o2.mp4')), /^tesg: error: .*noise\.mkv: not a readable video \(ffprobe: (EBML header parsing failed; )?Invalid data found when processing input\)/);
  assertOneLineError(await tesg('fuse-video', p('nope.mp4'), vi, '-o', p('o3.mp4')), /^tesg: error: .*nope\.mp4: no such file or folder; check the path$/);
  // Damaged in the middle: ffprobe counts every packet, the decoder loses a frame; the error names it.
  const garbled = Buffer.from(bytes);
  for (let i = 0; i < 3000; i++) garbled[(bytes.length / 3 | 0) + i] = (i * 7919) & 255;
  writeFileSync(p('garbled.mp4'), garbled);
  assertOneLineError(await tesg('fuse-video', p('garbled.mp4'), vi, '-o', p('o4.mp4'), '-m', 'average'), /^tesg: error: .*garbled\.mp4: decoded only \d of the 6 frames from frame 0 \(the file is truncated or damaged: .*\); re-export it or cut it where it breaks$/);
  // A run that failed before any chunk was complete leaves nothing behind: fixing the input and rerunning just works.
  assert.ok(!existsSync(p('o4.mp4.tesg-work')));
  for (const o of ['o1.mp4', 'o2.mp4', 'o3.mp4', 'o4.mp4']) assert.ok(!existsSync(p(o)), o);
});

test('bad output names and options: one line each, before any work', { skip }, async () => {
  const ir = clip('ir-opt', 'ir', range(2)), vi = clip('vi-opt', 'vi', range(2));
  assertOneLineError(await tesg('fuse-video', ir, vi, '-o', p('out.avi')), /out\.avi: cannot write '\.avi'; name the output \.mp4 or \.mkv, or end it with \/ for a folder of PNG frames/);
  assertOneLineError(await tesg('fuse-video', ir, vi, '-o', p('a.mp4'), '--sync', 'both'), /--sync must be one of fps, shortest/);
  assertOneLineError(await tesg('fuse-video', ir, vi, '-o', p('a.mp4'), '--mask-window', '4'), /--mask-window must be odd/);
  assertOneLineError(await tesg('fuse-video', ir, vi, '-o', p('a.mp4'), '--crf', '60', '-m', 'average'), /--crf must be an integer 0\.\.51/);
  assertOneLineError(await tesg('fuse-video', ir, vi, '-o', ir), /refusing to write .*ir-opt\.mkv: it is the input/);
  mkdirSync(p('full'));
  writeFileSync(p('full', 'keep.txt'), 'x');
  assertOneLineError(await tesg('fuse-video', ir, vi, '-o', p('full') + '/', '-m', 'average'), /full\/: the folder exists and is not empty/);
  assert.equal(readFileSync(p('full', 'keep.txt'), 'utf8'), 'x');
});

test('odd frame sizes: yuv420p is refused with what to do; yuv444p and PNG frames work', { skip }, async () => {
  const dir = p('src', 'odd');
  mkdirSync(dir, { recursive: true });
  ffmpeg(['-i', path.join(NATO, 'ir', `${NATO_FIRST}.png`), '-vf', 'crop=359:269:0:0', path.join(dir, '00000.png')]);
  ffmpeg(['-i', path.join(NATO, 'ir', `${NATO_FIRST + 1}.png`), '-vf', 'crop=359:269:0:0', path.join(dir, '00001.png')]);
  assertOneLineError(await tesg('fuse-video', dir, dir, '-o', p('odd.mp4'), '-m', 'max'), /H\.264 yuv420p needs an even width and height, the video is 359x269; pass --pix-fmt yuv444p, or -o DIR\//);
  const ok = await tesg('fuse-video', dir, dir, '-o', p('odd.mkv'), '-m', 'max', '--pix-fmt', 'yuv444p');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual([probe(p('odd.mkv')).width, probe(p('odd.mkv')).pixFmt, probe(p('odd.mkv')).frames], [359, 'yuv444p', 2]);
});

test('pairing in time (no ffmpeg): nearest frames at the lower rate, over the span both cover', () => {
  const src = (name: string, frames: number, num: number, den = 1): SourceInfo => ({ path: name, file: name, kind: 'video', width: 8, height: 8, frames, fps: { num, den }, fingerprint: '' });
  const p30 = pairFrames(src('a', 300, 30000, 1001), src('b', 250, 25), { sync: 'fps' });
  assert.deepEqual(p30.fps, { num: 25, den: 1 });
  // 250 VI frames at 25 fps = 10 s; 300 IR frames at 29.97 fps = 10.01 s: VI is the shorter.
  assert.equal(p30.frames, 250);
  // IR frame nearest to j/25 s: round(j * 29.97 / 25); 249 -> 298.5009 -> 299.
  assert.deepEqual([0, 1, 2, 5, 249].map((j) => sourceIndex(p30.ir, j)), [0, 1, 2, 6, 299]);
  assert.deepEqual([0, 7, 249].map((j) => sourceIndex(p30.vi, j)), [0, 7, 249]);
  const seq = { ...src('seq', 10, 1), fps: null };
  assert.deepEqual(pairFrames(seq, src('v', 10, 24000, 1001)).fps, { num: 24000, den: 1001 });
  assert.deepEqual(pairFrames(seq, { ...seq, path: 'seq2' }).fps, { num: 25, den: 1 });
  assert.deepEqual(pairFrames(seq, { ...seq, path: 'seq2' }, { sequenceFps: { num: 12, den: 1 } }).fps, { num: 12, den: 1 });
});
