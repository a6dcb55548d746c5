/**
 * Writing images: exact PNG round trips, JPEG by extension, atomic replacement with no temp file left
 * (also when the write fails), and refusal to write onto a protected input however the path is spelled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../src/errors.js';
import { readImage } from '../src/image/read.js';
import type { Image8 } from '../src/image/types.js';
import { writeImage } from '../src/image/write.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-write-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function pseudoRandomImage(width: number, height: number, channels: 1 | 3, seed: number): Image8 {
  const data = new Uint8Array(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, channels, data };
}

test('PNG round trip is exact for gray and RGB, odd sizes', async () => {
  for (const channels of [1, 3] as const) {
    const img = pseudoRandomImage(37, 23, channels, channels);
    const file = path.join(tmp, `rt-${channels}.png`);
    await writeImage(file, img);
    const back = await readImage(file);
    assert.deepEqual([back.width, back.height, back.channels], [37, 23, channels]);
    assert.deepEqual(Buffer.from(back.data), Buffer.from(img.data));
  }
});

test('.jpg/.jpeg write JPEG (quality honoured), other extensions are refused', async () => {
  // A smooth gradient: JPEG at quality 95 stays within a few levels.
  const img: Image8 = { width: 64, height: 48, channels: 3, data: new Uint8Array(64 * 48 * 3) };
  for (let i = 0; i < 64 * 48; i++) img.data.set([(i % 64) * 4, Math.floor(i / 64) * 5, 128], 3 * i);
  const hi = path.join(tmp, 'g.jpg'), lo = path.join(tmp, 'g.jpeg');
  await writeImage(hi, img);
  await writeImage(lo, img, { quality: 10 });
  assert.deepEqual([...readFileSync(hi).subarray(0, 3)], [0xff, 0xd8, 0xff]);
  const back = await readImage(hi);
  let err = 0;
  for (let i = 0; i < img.data.length; i++) err += Math.abs(back.data[i] - img.data[i]);
  assert.ok(err / img.data.length < 2, `mean abs error ${err / img.data.length} at quality 95`);
  assert.ok(readFileSync(lo).length < readFileSync(hi).length, 'quality 10 should be smaller than 95');
  await assert.rejects(writeImage(path.join(tmp, 'x.webp'), img), UsageError);
  await assert.rejects(writeImage(path.join(tmp, 'noext'), img), /name the output \.png, \.jpg or \.jpeg/);
});

test('atomic: replaces an existing file, leaves no temp file, also when the write fails', async () => {
  const dir = path.join(tmp, 'atomic');
  mkdirSync(dir);
  const file = path.join(dir, 'out.png');
  writeFileSync(file, 'old contents');
  await writeImage(file, pseudoRandomImage(8, 8, 1, 7));
  assert.equal((await readImage(file)).width, 8);
  // A folder where the image should go: the rename fails, and the temp file is cleaned up.
  mkdirSync(path.join(dir, 'blocked.png'));
  await assert.rejects(writeImage(path.join(dir, 'blocked.png'), pseudoRandomImage(8, 8, 1, 8)));
  assert.deepEqual(readdirSync(dir).sort(), ['blocked.png', 'out.png']);
  // Parent folders are created.
  await writeImage(path.join(dir, 'a', 'b', 'c.png'), pseudoRandomImage(2, 2, 3, 9));
  assert.deepEqual(readdirSync(path.join(dir, 'a', 'b')), ['c.png']);
});

test('protect: refuses the input by any spelling, symlink or hard link, and leaves it untouched', async () => {
  const dir = path.join(tmp, 'protect');
  mkdirSync(path.join(dir, 'sub'), { recursive: true });
  const input = path.join(dir, 'ir.png');
  await writeImage(input, pseudoRandomImage(4, 4, 1, 1));
  const before = readFileSync(input);
  symlinkSync(input, path.join(dir, 'link.png'));
  linkSync(input, path.join(dir, 'hard.png'));
  const img = pseudoRandomImage(4, 4, 1, 2);
  for (const target of [input, path.join(dir, 'sub', '..', 'ir.png'), path.relative(process.cwd(), input), path.join(dir, 'link.png'), path.join(dir, 'hard.png')]) {
    await assert.rejects(writeImage(target, img, { protect: [input] }), (err: Error) => err instanceof UsageError && /refusing to write .*: it is the input/.test(err.message), target);
  }
  assert.deepEqual(readFileSync(input), before);
  await writeImage(path.join(dir, 'fused.png'), img, { protect: [input] });
});
