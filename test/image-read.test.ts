/**
 * Reading images: every stored layout in ../shared/data/samples (palette BMP, 1-channel JPEG, gray
 * stored as RGB), BMP variants built here byte by byte, 16-bit PNG/TIFF made with sharp and checked
 * against hand-computed stretch values, one-line errors for broken files made in a temp folder, and
 * EXIF/TIFF orientation applied as OpenCV's imread applies it (against hand-rotated pixels).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { InputError, MismatchError, UsageError } from '../src/errors.js';
import { toGray } from '../src/image/color.js';
import { assertSameSize, readImage, readImageSize } from '../src/image/read.js';
import type { Image8 } from '../src/image/types.js';
import { fuseFiles } from '../src/fusion/index.js';
import { scoreStem } from '../src/eval/score.js';
import { distinctImage, exifBlock, tiffWithOrientation, withExifChunk } from './helpers/orientation-files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = path.join(ROOT, '..', 'shared', 'data', 'samples');
const noShared = !existsSync(SAMPLES) && 'no ../shared/data/samples';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-read-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function tmpFile(name: string, bytes: Uint8Array): string {
  const p = path.join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

/** A BMP built by hand: 8-bit palette or 24-bit, any DIB header size, bottom-up or top-down. */
function makeBmp(o: { width: number; height: number; bpp: 8 | 24; pixels: number[]; palette?: number[][]; headerSize?: number; topDown?: boolean; gap?: number }): Buffer {
  const headerSize = o.headerSize ?? 40;
  const palette = o.palette ?? [];
  const stride = Math.ceil((o.width * o.bpp) / 32) * 4;
  const offset = 14 + headerSize + palette.length * 4 + (o.gap ?? 0);
  const buf = Buffer.alloc(offset + stride * o.height);
  buf.write('BM', 0, 'ascii');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(headerSize, 14);
  buf.writeInt32LE(o.width, 18);
  buf.writeInt32LE(o.topDown ? -o.height : o.height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(o.bpp, 28);
  buf.writeUInt32LE(palette.length, 46);
  palette.forEach(([r, g, b], i) => buf.set([b, g, r, 0], 14 + headerSize + 4 * i));
  const bytesPerPixel = o.bpp / 8;
  for (let y = 0; y < o.height; y++) {
    const fileRow = o.topDown ? y : o.height - 1 - y;
    for (let x = 0; x < o.width; x++) {
      const at = offset + fileRow * stride + x * bytesPerPixel;
      const src = (y * o.width + x) * bytesPerPixel;
      if (o.bpp === 8) buf[at] = o.pixels[src];
      else buf.set([o.pixels[src + 2], o.pixels[src + 1], o.pixels[src]], at); // stored B, G, R
    }
  }
  return buf;
}

/** A 1-channel 32-bit float TIFF (uncompressed, one strip): a depth tesg refuses. */
function makeFloatTiff(width: number, height: number): Buffer {
  const entries: Array<[number, number, number, number]> = [
    [256, 4, 1, width], [257, 4, 1, height], [258, 3, 1, 32], [259, 3, 1, 1], [262, 3, 1, 1],
    [273, 4, 1, 0], [277, 3, 1, 1], [278, 4, 1, height], [279, 4, 1, width * height * 4], [339, 3, 1, 3],
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  const dataAt = 8 + ifdSize;
  const buf = Buffer.alloc(dataAt + width * height * 4);
  buf.write('II', 0, 'ascii');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  buf.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const at = 10 + 12 * i;
    buf.writeUInt16LE(tag, at);
    buf.writeUInt16LE(type, at + 2);
    buf.writeUInt32LE(count, at + 4);
    const v = tag === 273 ? dataAt : value;
    if (type === 3) buf.writeUInt16LE(v, at + 8);
    else buf.writeUInt32LE(v, at + 8);
  });
  for (let i = 0; i < width * height; i++) buf.writeFloatLE(i / 10, dataAt + 4 * i);
  return buf;
}

async function sixteenBit(values: number[], width: number, height: number, channels: 1 | 3, format: 'png' | 'tiff'): Promise<string> {
  const s = sharp(new Uint16Array(values), { raw: { width, height, channels } }).toColourspace(channels === 1 ? 'grey16' : 'rgb16');
  const bytes = await (format === 'png' ? s.png() : s.tiff({ compression: 'lzw' })).toBuffer();
  assert.equal((await sharp(bytes).metadata()).depth, 'ushort', 'fixture must really be 16-bit');
  return tmpFile(`${values.length}-${channels}-${Math.random().toString(36).slice(2)}.${format}`, bytes);
}

async function rejects(p: Promise<unknown>, cls: Function, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err.name}: ${err.message}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'error message must be one line');
    return true;
  });
}

test('samples: palette BMP, 1-channel JPEG and gray-as-RGB JPEG keep their stored layout', { skip: noShared }, async () => {
  const cases: Array<[string, number, number, 1 | 3]> = [
    ['tno/ir/Marne_01.bmp', 620, 450, 1],
    ['tno/vi/Kaptein_1123.bmp', 620, 450, 1],
    ['roadscene/ir/FLIR_00006.jpg', 500, 329, 1],
    ['roadscene/vi/FLIR_00006.jpg', 500, 329, 3],
    ['llvip/ir/010001.jpg', 1280, 1024, 3],
  ];
  for (const [rel, w, h, c] of cases) {
    const img = await readImage(path.join(SAMPLES, rel));
    assert.deepEqual([img.width, img.height, img.channels, img.data.length], [w, h, c, w * h * c], rel);
    assert.deepEqual(await readImageSize(path.join(SAMPLES, rel)), { width: w, height: h }, rel);
  }
  // LLVIP IR is gray stored as RGB: the three channels agree to within JPEG chroma noise.
  const llvip = await readImage(path.join(SAMPLES, 'llvip/ir/010001.jpg'));
  let maxSpread = 0;
  for (let i = 0; i < llvip.data.length; i += 3) maxSpread = Math.max(maxSpread, Math.abs(llvip.data[i] - llvip.data[i + 2]));
  assert.ok(maxSpread <= 8, `gray-as-RGB channels differ by ${maxSpread}`);
});

test('a 1-channel PNG reads the same bytes as sharp decodes, not widened to RGB', async () => {
  const file = path.join(ROOT, 'samples/msrs/ir/00537D.png');
  const img = await readImage(file);
  const ref = await sharp(file).extractChannel(0).raw().toBuffer();
  assert.equal(img.channels, 1);
  assert.deepEqual(Buffer.from(img.data), ref);
});

test('BMP: 24-bit with row padding, top-down, V5 header with a gap, colour palette', async () => {
  // 3x2 RGB: 9 bytes per row, padded to 12.
  const rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90];
  for (const topDown of [false, true]) {
    const img = await readImage(tmpFile(`rgb-${topDown}.bmp`, makeBmp({ width: 3, height: 2, bpp: 24, pixels: rgb, topDown })));
    assert.deepEqual([img.width, img.height, img.channels], [3, 2, 3]);
    assert.deepEqual(Array.from(img.data), rgb);
  }
  // 8-bit with a gray palette, BITMAPV5HEADER (124 bytes) and 6 junk bytes before the pixels: 1 channel.
  const grayPal = Array.from({ length: 256 }, (_, i) => [i, i, i]);
  const idx = [0, 7, 200, 255, 128, 1, 2, 3, 99, 100];
  const gray = await readImage(tmpFile('v5.bmp', makeBmp({ width: 5, height: 2, bpp: 8, pixels: idx, palette: grayPal, headerSize: 124, gap: 6 })));
  assert.deepEqual([gray.channels, Array.from(gray.data)], [1, idx]);
  // 8-bit with a colour palette: expanded to RGB.
  const pal = [[255, 0, 0], [0, 0, 255], [12, 34, 56]];
  const col = await readImage(tmpFile('pal.bmp', makeBmp({ width: 2, height: 2, bpp: 8, pixels: [0, 1, 2, 1], palette: pal })));
  assert.deepEqual([col.channels, Array.from(col.data)], [3, [255, 0, 0, 0, 0, 255, 12, 34, 56, 0, 0, 255]]);
});

test('16-bit PNG and TIFF: shift = round(v/257), minmax and percentile stretches, exact values', async () => {
  const narrow = [1000, 1100, 1200, 1300, 1400, 1500, 1600, 2020];
  for (const format of ['png', 'tiff'] as const) {
    const file = await sixteenBit(narrow, 4, 2, 1, format);
    const mm = await readImage(file);
    assert.equal(mm.channels, 1);
    // minmax: (v - 1000) * 255 / 1020 = (v - 1000) / 4.
    assert.deepEqual(Array.from(mm.data), [0, 25, 50, 75, 100, 125, 150, 255], format);
    // shift: 1000/257 = 3.89 -> 4, 1100/257 = 4.28 -> 4, ..., 2020/257 = 7.86 -> 8.
    assert.deepEqual(Array.from((await readImage(file, { stretch: 'shift' })).data), [4, 4, 5, 5, 5, 6, 6, 8], format);
    // percentile with 8 values: 0.5% and 99.5% targets fall on the min and max.
    assert.deepEqual(Array.from((await readImage(file, { stretch: 'percentile' })).data), Array.from(mm.data), format);
  }
  // 1000 values: 4 dead pixels (0), body 20000 + 10k (k = 0..991), 4 hot pixels (65535).
  // percentile: lo = 5th smallest = 20000, hi = 995th smallest = body k=990 = 29900.
  const values = [0, 0, 0, 0, ...Array.from({ length: 992 }, (_, k) => 20000 + 10 * k), 65535, 65535, 65535, 65535];
  const file = await sixteenBit(values, 40, 25, 1, 'tiff');
  const pc = (await readImage(file, { stretch: 'percentile' })).data;
  const body = (k: number) => pc[4 + k];
  assert.deepEqual([pc[0], body(0), body(100), body(495), body(990), body(991), pc[999]], [0, 0, 26, 128, 255, 255, 255]);
  // minmax over the same frame: 0..65535, so body k=0 -> 20000/257 = 77.8 -> 78.
  assert.equal((await readImage(file)).data[4], 78);
  // RGB 16-bit keeps 3 channels, one mapping for all channels.
  const rgb = await readImage(await sixteenBit([0, 1000, 65535, 2000, 3000, 4000], 2, 1, 3, 'png'), { stretch: 'shift' });
  assert.deepEqual([rgb.channels, Array.from(rgb.data)], [3, [0, 4, 255, 8, 12, 16]]);
});

test('errors: missing, folder, empty, truncated, corrupt, unsupported format and depth', async () => {
  const png = readFileSync(path.join(ROOT, 'samples/msrs/ir/00537D.png'));
  await rejects(readImage(path.join(tmp, 'nope.png')), InputError, /nope\.png: no such file/);
  await rejects(readImage(tmp), InputError, /is a folder/);
  await rejects(readImage(tmpFile('empty.png', new Uint8Array(0))), InputError, /empty\.png: file is empty/);
  await rejects(readImage(tmpFile('half.png', png.subarray(0, png.length >> 1))), InputError, /half\.png: corrupt or truncated PNG/);
  await rejects(readImage(tmpFile('garbage.png', Buffer.concat([png.subarray(0, 100), Buffer.alloc(4000, 7)]))), InputError, /garbage\.png: corrupt or truncated PNG/);
  await rejects(readImage(tmpFile('header-only.png', png.subarray(0, 20))), InputError, /header-only\.png: corrupt or truncated PNG/);
  const bmp = makeBmp({ width: 3, height: 2, bpp: 24, pixels: new Array(18).fill(9) });
  await rejects(readImage(tmpFile('cut.bmp', bmp.subarray(0, bmp.length - 5))), InputError, /cut\.bmp: truncated BMP/);
  await rejects(readImage(tmpFile('stub.bmp', bmp.subarray(0, 30))), InputError, /stub\.bmp: truncated BMP/);
  const gif = await sharp(Buffer.alloc(12, 5), { raw: { width: 2, height: 2, channels: 3 } }).gif().toBuffer();
  await rejects(readImage(tmpFile('anim.png', gif)), InputError, /anim\.png: unsupported format: GIF; expected PNG, JPEG, TIFF or BMP/);
  await rejects(readImage(tmpFile('notes.jpg', Buffer.from('hello world, not an image'))), InputError, /unsupported format: unknown \(first bytes 68 65/);
  await rejects(readImage(tmpFile('float.tif', makeFloatTiff(3, 2))), InputError, /float\.tif: unsupported sample type 'float'/);
  await rejects(readImage(tmpFile('ok.png', png), { stretch: 'gamma' as never }), UsageError, /unknown stretch 'gamma'/);
});

test('a truncated JPEG is an error, not a gray-padded image', { skip: noShared }, async () => {
  const jpg = readFileSync(path.join(SAMPLES, 'roadscene/vi/FLIR_00006.jpg'));
  await rejects(readImage(tmpFile('half.jpg', jpg.subarray(0, jpg.length >> 1))), InputError, /half\.jpg: corrupt or truncated JPEG/);
  const bmp = readFileSync(path.join(SAMPLES, 'tno/ir/Marne_01.bmp'));
  await rejects(readImage(tmpFile('half.bmp', bmp.subarray(0, bmp.length >> 1))), InputError, /half\.bmp: truncated BMP: 140040 bytes, expected at least 280078/);
});

test('assertSameSize names both files and both sizes', () => {
  assert.doesNotThrow(() => assertSameSize({ width: 4, height: 3 }, 'a.png', { width: 4, height: 3 }, 'b.png'));
  assert.throws(
    () => assertSameSize({ width: 640, height: 480 }, 'ir/x.png', { width: 620, height: 450 }, 'vi/x.bmp'),
    (err: Error) => err instanceof MismatchError && /ir\/x\.png is 640x480 but vi\/x\.bmp is 620x450/.test(err.message),
  );
});

test('toGray of a gray-palette BMP equals its palette indices', { skip: noShared }, async () => {
  const img = await readImage(path.join(SAMPLES, 'tno/ir/Marne_01.bmp'));
  const raw = readFileSync(path.join(SAMPLES, 'tno/ir/Marne_01.bmp'));
  const offset = raw.readUInt32LE(10);
  // Bottom-up rows of 620 bytes (620 % 4 = 0: no padding): the first stored row is the image's last.
  const g = toGray(img).data;
  for (let x = 0; x < 620; x += 37) {
    const paletteIndex = raw[offset + x];
    assert.equal(g[449 * 620 + x], raw[14 + 40 + 4 * paletteIndex], `x=${x}`);
  }
});

/**
 * OpenCV's ApplyExifOrientation (modules/imgcodecs/src/loadsave.cpp), by hand on an Image8: the stored
 * pixels -> the upright image. 2 flip(1), 3 flip(-1), 4 flip(0), 5 transpose, 6 transpose + flip(1),
 * 7 transpose + flip(-1), 8 transpose + flip(0); anything else unchanged.
 */
function orientByHand(img: Image8, orientation: number): Image8 {
  const c = img.channels;
  const map = (w: number, h: number, src: (x: number, y: number) => number, from: Image8): Image8 => {
    const data = new Uint8Array(w * h * c);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) data[(y * w + x) * c + k] = from.data[src(x, y) * c + k];
    return { width: w, height: h, channels: c, data };
  };
  const transpose = (a: Image8) => map(a.height, a.width, (x, y) => x * a.width + y, a);
  const flipH = (a: Image8) => map(a.width, a.height, (x, y) => y * a.width + (a.width - 1 - x), a);
  const flipV = (a: Image8) => map(a.width, a.height, (x, y) => (a.height - 1 - y) * a.width + x, a);
  switch (orientation) {
    case 2: return flipH(img);
    case 3: return flipV(flipH(img));
    case 4: return flipV(img);
    case 5: return transpose(img);
    case 6: return flipH(transpose(img));
    case 7: return flipV(flipH(transpose(img)));
    case 8: return flipV(transpose(img));
    default: return img;
  }
}

/**
 * `img` encoded with an orientation tag put in by hand (sharp's withMetadata would also add an sRGB
 * profile and widen gray to RGB): JPEG with an APP1 Exif segment after SOI, PNG with an eXIf chunk
 * after IHDR, TIFF with tag 274.
 */
async function withOrientation(img: Image8, format: 'jpeg' | 'png' | 'tiff', orientation: number): Promise<Buffer> {
  if (format === 'tiff') return tiffWithOrientation(img, orientation);
  const s = sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels } }).toColourspace(img.channels === 1 ? 'b-w' : 'srgb');
  const exif = exifBlock(orientation);
  if (format === 'jpeg') {
    const jpeg = await s.jpeg({ quality: 95 }).toBuffer();
    const app1 = Buffer.alloc(4);
    app1.writeUInt16BE(0xffe1, 0);
    app1.writeUInt16BE(2 + 6 + exif.length, 2);
    return Buffer.concat([jpeg.subarray(0, 2), app1, Buffer.from('Exif\0\0', 'latin1'), exif, jpeg.subarray(2)]);
  }
  return withExifChunk(await s.png().toBuffer(), exif);
}

/** The stored pixels, orientation ignored: sharp's plain decode (sharp rotates only when asked). */
async function storedPixels(bytes: Buffer, channels: 1 | 3): Promise<Image8> {
  const { data, info } = await sharp(bytes).toColourspace(channels === 1 ? 'b-w' : 'srgb').raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels as 1 | 3, data: new Uint8Array(data) };
}

test('orientation: a 3x2 gray PNG tagged 6 (rotate 90 clockwise) reads as the hand-written upright 2x3', async () => {
  // stored rows [1 2 3] [4 5 6]; upright: the left column bottom-up becomes the first row
  const file = tmpFile('o6.png', await withOrientation({ width: 3, height: 2, channels: 1, data: Uint8Array.of(10, 20, 30, 40, 50, 60) }, 'png', 6));
  const img = await readImage(file);
  assert.deepEqual([img.width, img.height, img.channels, [...img.data]], [2, 3, 1, [40, 10, 50, 20, 60, 30]]);
  assert.deepEqual(await readImageSize(file), { width: 2, height: 3 });
});

test('orientation 1-8 in JPEG (EXIF), PNG (eXIf) and TIFF (tag 274), gray and RGB: pixels and size as OpenCV orients them', async () => {
  for (const format of ['jpeg', 'png', 'tiff'] as const) {
    for (const channels of [1, 3] as const) {
      const src = distinctImage(7, 4, channels);
      for (let o = 1; o <= 8; o++) {
        const bytes = await withOrientation(src, format, o);
        assert.equal((await sharp(bytes).metadata()).orientation, o, `${format} ${o}: the tag was written`);
        const file = tmpFile(`o${o}-${channels}.${format}`, bytes);
        const stored = await storedPixels(bytes, channels);
        // Lossless formats store exactly the pixels written; the JPEG's stored pixels are its decode.
        if (format !== 'jpeg') assert.deepEqual(stored.data, src.data);
        const want = orientByHand(stored, o);
        const got = await readImage(file);
        const label = `${format}, ${channels} channel(s), orientation ${o}`;
        assert.deepEqual([got.width, got.height, got.channels], [want.width, want.height, channels], label);
        assert.deepEqual(Buffer.from(got.data), Buffer.from(want.data), label);
        assert.deepEqual(await readImageSize(file), { width: want.width, height: want.height }, label);
      }
    }
  }
});

test('orientation in fuse and eval: a rotated JPEG pairs with an upright image of the oriented size; the stored size is a mismatch naming the oriented one', async () => {
  const upright = distinctImage(12, 8, 3);
  // VI stored rotated 90 degrees counter-clockwise (6 -> upright needs 90 clockwise): 8x12 stored, tagged 6.
  const storedVi = orientByHand(upright, 8);
  assert.deepEqual([storedVi.width, storedVi.height], [8, 12]);
  const vi = tmpFile('vi-rot.jpg', await withOrientation(storedVi, 'jpeg', 6));
  const ir = tmpFile('ir-up.png', await sharp(Buffer.from(upright.data), { raw: { width: 12, height: 8, channels: 3 } }).greyscale().png().toBuffer());
  const irStored = tmpFile('ir-stored.png', await sharp(Buffer.alloc(8 * 12), { raw: { width: 8, height: 12, channels: 1 } }).png().toBuffer());
  const out = path.join(tmp, 'fused-rot.png');
  const fused = await fuseFiles(ir, vi, out, { method: 'average' });
  assert.deepEqual([fused.width, fused.height], [12, 8]);
  await assert.rejects(fuseFiles(irStored, vi, path.join(tmp, 'x.png'), { method: 'average' }), (e: Error) =>
    e instanceof MismatchError && e.message.includes(`${irStored} is 8x12 but ${vi} is 12x8`));
  const scored = await scoreStem({ stem: 'rot', ir, vi, fused: [{ name: 'average', file: out }], sources: false, metrics: ['EN', 'SSIM'] });
  assert.ok(scored.ok, JSON.stringify(scored));
  const bad = await scoreStem({ stem: 'rot', ir: irStored, vi, fused: [], sources: true, metrics: ['EN'] });
  assert.ok(!bad.ok && bad.failure.kind === 'mismatch' && bad.failure.message.includes(`${irStored} is 8x12 but ${vi} is 12x8`), JSON.stringify(bad));
});
