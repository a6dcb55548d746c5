/**
 * `tesg fuse-video` end to end with the real ffmpeg: 40-frame clips made from the real TNO nato_camp
 * frames fuse to 40 frames of the right size and rate; the lossless `-o DIR/` output is exactly
 * `tesg fuse` of each frame pair (classic method on all 40, the shipped model with the per-frame SIG
 * on 3 frames where its detector blinks); the H.264 output is that within codec error; image-sequence inputs (folder, %05d pattern)
 * give the same frames as the clip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readImage } from '../src/image/read.js';
import { decodeGray, encodeClip, pingPong, pngs, probe, psnr, sequenceFolder, tesg, videoSkip } from './helpers/video-clips.js';

const skip = videoSkip();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-video-fuse-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const p = (...parts: string[]) => path.join(tmp, ...parts);

let clips: { irDir: string; viDir: string; irMkv: string; viMkv: string; irMp4: string; viMp4: string } | undefined;
function makeClips() {
  if (clips) return clips;
  const frames = pingPong(40);
  const irDir = sequenceFolder(p('seq', 'ir'), 'ir', frames), viDir = sequenceFolder(p('seq', 'vi'), 'vi', frames);
  clips = {
    irDir, viDir,
    irMkv: encodeClip(irDir, p('ir.mkv')), viMkv: encodeClip(viDir, p('vi.mkv')),
    irMp4: encodeClip(irDir, p('ir.mp4'), { codec: 'x264' }), viMp4: encodeClip(viDir, p('vi.mp4'), { codec: 'x264' }),
  };
  return clips;
}

/** `fuse-video IR.mkv VI.mkv -o lap/ -m laplacian --chunk 16`, run once for the tests that compare with it. */
let lapRun: Promise<import('./helpers/video-clips.js').CliResult> | undefined;
function losslessLaplacian() {
  const c = makeClips();
  lapRun ??= tesg('fuse-video', c.irMkv, c.viMkv, '-o', p('lap') + '/', '-m', 'laplacian', '--chunk', '16');
  return lapRun;
}

async function assertSameFrames(dirA: string, dirB: string, count: number): Promise<void> {
  const a = pngs(dirA), b = pngs(dirB);
  assert.equal(a.length, count);
  assert.equal(b.length, count);
  for (let k = 0; k < count; k++) {
    const [x, y] = [await readImage(path.join(dirA, a[k])), await readImage(path.join(dirB, b[k]))];
    assert.deepEqual([x.width, x.height, x.channels], [y.width, y.height, y.channels], `frame ${k}`);
    assert.ok(Buffer.from(x.data).equals(Buffer.from(y.data)), `frame ${k}: ${a[k]} differs from ${b[k]}`);
  }
}

test('a 40-frame lossless clip pair fuses to 40 PNG frames, each exactly `tesg fuse` of its pair', { skip }, async () => {
  const c = makeClips();
  const r = await losslessLaplacian();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote .*lap\/ \(40 frames, 360x270, 25 fps, laplacian; 40 frames in [\d.]+ s, [\d.]+ frames\/s; flicker [\d.]+\)/);
  assert.match(r.stderr, /fuse-video: 40\/40 [\d.]+\/s .*ETA/);
  assert.equal(pngs(p('lap'))[0], '000000.png');
  const ref = await tesg('fuse', '--ir', c.irDir, '--vi', c.viDir, '--out', p('lap-ref'), '-m', 'laplacian');
  assert.equal(ref.code, 0, ref.stderr);
  await assertSameFrames(p('lap'), p('lap-ref'), 40);
  const f0 = await readImage(path.join(p('lap'), '000000.png'));
  assert.deepEqual([f0.width, f0.height, f0.channels], [360, 270, 1]);
});

test('H.264 output: 40 frames, 360x270, 25 fps, yuv420p, within codec error of the lossless frames; mp4 input too', { skip }, async () => {
  const c = makeClips();
  const mp4 = p('lap.mp4');
  const r = await tesg('fuse-video', c.irMkv, c.viMkv, '-o', mp4, '-m', 'laplacian', '--chunk', '16');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(probe(mp4), { codec: 'h264', width: 360, height: 270, pixFmt: 'yuv420p', rate: '25/1', frames: 40 });
  assert.equal((await losslessLaplacian()).code, 0);
  const decoded = decodeGray(mp4, 360, 270);
  assert.equal(decoded.length, 40);
  const lossless = await Promise.all(pngs(p('lap')).map(async (f) => (await readImage(path.join(p('lap'), f))).data));
  let worst = Infinity;
  for (let k = 0; k < 40; k++) {
    const own = psnr(decoded[k], lossless[k]);
    worst = Math.min(worst, own);
    // In order: decoded frame k is far closer to lossless frame k than to its neighbour (the clip moves).
    if (k + 1 < 40) assert.ok(own > psnr(decoded[k], lossless[k + 1]) + 3, `frame ${k}`);
  }
  // The TNO frames are noisy (sensor grain), which costs H.264 at crf 18 about 36 dB here.
  assert.ok(worst > 33, `worst frame PSNR ${worst.toFixed(2)} dB at --crf 18`);
  // A lower --crf is closer; the work dir is gone, the output is whole.
  const fine = await tesg('fuse-video', c.irMkv, c.viMkv, '-o', p('lap-fine.mkv'), '-m', 'laplacian', '--crf', '4');
  assert.equal(fine.code, 0, fine.stderr);
  const decodedFine = decodeGray(p('lap-fine.mkv'), 360, 270);
  assert.ok(psnr(decodedFine[20], lossless[20]) > psnr(decoded[20], lossless[20]) + 5);
  assert.equal(probe(p('lap-fine.mkv')).frames, 40);
  const fromMp4 = await tesg('fuse-video', c.irMp4, c.viMp4, '-o', p('from-mp4.mkv'), '-m', 'average');
  assert.equal(fromMp4.code, 0, fromMp4.stderr);
  assert.deepEqual(probe(p('from-mp4.mkv')), { codec: 'h264', width: 360, height: 270, pixFmt: 'yuv420p', rate: '25/1', frames: 40 });
});

test('image sequences as input (a folder, a %05d.png pattern) give the same frames as the clips', { skip }, async () => {
  const c = makeClips();
  const r = await tesg('fuse-video', c.irDir, path.join(c.viDir, '%05d.png'), '-o', p('seq-out') + '/', '-m', 'laplacian');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /40 frames, 360x270, 25 fps/);
  assert.equal((await losslessLaplacian()).code, 0);
  await assertSameFrames(p('seq-out'), p('lap'), 40);
  // A sequence paired with a video takes the video's rate.
  const mixed = await tesg('fuse-video', c.irDir, encodeClip(c.viDir, p('vi-10fps.mkv'), { fps: '10' }), '-o', p('mixed.mp4'), '-m', 'average');
  assert.equal(mixed.code, 0, mixed.stderr);
  assert.equal(probe(p('mixed.mp4')).rate, '10/1');
});

test('the shipped model with --per-frame-sig: frame k is exactly `tesg fuse` of pair k', { skip }, async () => {
  const irDir = sequenceFolder(p('three', 'ir'), 'ir', [3, 8, 9]), viDir = sequenceFolder(p('three', 'vi'), 'vi', [3, 8, 9]);
  const [irClip, viClip] = [encodeClip(irDir, p('three-ir.mkv')), encodeClip(viDir, p('three-vi.mkv'))];
  const [video, ref] = await Promise.all([
    tesg('fuse-video', irClip, viClip, '-o', p('three-out') + '/', '--per-frame-sig'),
    tesg('fuse', '--ir', irDir, '--vi', viDir, '--out', p('three-ref')),
  ]);
  assert.equal(video.code, 0, video.stderr);
  assert.equal(ref.code, 0, ref.stderr);
  assert.match(video.stdout, /3 frames, 360x270, 25 fps, tesg, per-frame SIG/);
  await assertSameFrames(p('three-out'), p('three-ref'), 3);
});
