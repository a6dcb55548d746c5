/**
 * The page's image decoding (web/src/decode.ts: fast-png, tiff, the CLI's BMP code) against the CLI's
 * (src/image/read.ts: sharp, bmp-js) on the stored layouts users bring: 8-bit gray/RGB/RGBA PNG,
 * palette PNG, 16-bit PNG and TIFF (stretched), 8-bit TIFF, palette BMP, and PNG eXIf / TIFF tag 274
 * orientations 1-8. Same pixels, same channel count, same errors. (JPEG is decoded, and oriented, by
 * the browser itself; test/web-app.test.ts covers it.)
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { InputError } from '../src/errors.js';
import { readImage } from '../src/image/read.js';
import { decodeImage, jpegComponents, orient, pngOrientation } from '../web/src/decode.js';
import { distinctImage, exifBlock, tiffWithOrientation, withExifChunk } from './helpers/orientation-files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = path.join(ROOT, '..', 'shared', 'data', 'samples');
const TMP = mkdtempSync(path.join(os.tmpdir(), 'tesg-webdec-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

async function same(file: string): Promise<void> {
  const cli = await readImage(file);
  const web = await decodeImage(new Uint8Array(readFileSync(file)), path.basename(file));
  assert.deepEqual([web.width, web.height, web.channels], [cli.width, cli.height, cli.channels], `${path.basename(file)}: size/channels`);
  assert.ok(Buffer.from(web.data).equals(Buffer.from(cli.data)), `${path.basename(file)}: pixels differ`);
}

/** A 37x23 test pattern with every 8-bit level across its rows, as raw interleaved samples. */
function pattern(channels: number, sixteen = false): Buffer {
  const w = 37, h = 23;
  const arr = sixteen ? new Uint16Array(w * h * channels) : new Uint8Array(w * h * channels);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < channels; c++) arr[i * channels + c] = sixteen ? 3000 + ((i * 97 + c * 5000) % 9000) : (i * 7 + c * 60) % 256;
  return Buffer.from(arr.buffer);
}

test('PNG: gray, RGB, RGBA, 16-bit gray and palette decode as the CLI reads them', async () => {
  const raw = (channels: 1 | 3 | 4) => sharp(pattern(channels), { raw: { width: 37, height: 23, channels } });
  const cases: Array<[string, ReturnType<typeof sharp>]> = [
    ['gray.png', raw(1).png()],
    ['rgb.png', raw(3).png()],
    ['rgba.png', raw(4).png()],
    ['palette.png', raw(3).png({ palette: true, colours: 16 })],
    ['gray16.png', sharp(pattern(1, true), { raw: { width: 37, height: 23, channels: 1 } }).toColourspace('grey16').png()],
  ];
  for (const [name, img] of cases) {
    const file = path.join(TMP, name);
    await img.toFile(file);
    await same(file);
  }
  assert.equal((await sharp(path.join(TMP, 'gray16.png')).metadata()).depth, 'ushort', 'fixture must really be 16-bit');
  await same(path.join(ROOT, 'samples/msrs/ir/00537D.png'));
  await same(path.join(ROOT, 'samples/msrs/vi/00537D.png'));
});

test('TIFF: 8-bit gray and RGB, 16-bit gray decode as the CLI reads them', async () => {
  const cases: Array<[string, ReturnType<typeof sharp>]> = [
    ['gray.tif', sharp(pattern(1), { raw: { width: 37, height: 23, channels: 1 } }).toColourspace('b-w').tiff({ compression: 'none' })],
    ['rgb.tif', sharp(pattern(3), { raw: { width: 37, height: 23, channels: 3 } }).tiff({ compression: 'lzw' })],
    ['gray16.tif', sharp(pattern(1, true), { raw: { width: 37, height: 23, channels: 1 } }).toColourspace('grey16').tiff({ compression: 'deflate' })],
  ];
  for (const [name, img] of cases) {
    const file = path.join(TMP, name);
    await img.toFile(file);
    await same(file);
  }
  // JPEG-in-TIFF (sharp's default TIFF compression) is beyond the JavaScript decoder: a clear error.
  const jtif = path.join(TMP, 'jpeg.tif');
  await sharp(pattern(3), { raw: { width: 37, height: 23, channels: 3 } }).tiff({ compression: 'jpeg' }).toFile(jtif);
  await assert.rejects(decodeImage(new Uint8Array(readFileSync(jtif)), 'jpeg.tif'), /^InputError: jpeg\.tif: TIFF variant the browser app cannot decode .*uncompressed\/LZW TIFF/);
});

test('BMP: the TNO palette samples decode as the CLI reads them', { skip: !existsSync(SAMPLES) && 'no ../shared/data/samples' }, async () => {
  for (const mod of ['ir', 'vi']) {
    const dir = path.join(SAMPLES, 'tno', mod);
    for (const f of readdirSync(dir)) await same(path.join(dir, f));
  }
});

test('bad files: the CLI\'s one-line errors, naming the file', async () => {
  const bad = async (bytes: Uint8Array, name: string, pattern: RegExp) =>
    assert.rejects(decodeImage(bytes, name), (err: unknown) => err instanceof InputError && pattern.test(err.message));
  await bad(new Uint8Array(0), 'empty.png', /^empty\.png: file is empty/);
  await bad(new TextEncoder().encode('GIF89a........'), 'anim.gif', /^anim\.gif: unsupported format: .*expected PNG, JPEG, TIFF or BMP/);
  const png = readFileSync(path.join(ROOT, 'samples/msrs/ir/00537D.png'));
  await bad(png.subarray(0, png.length >> 1), 'cut.png', /^cut\.png: corrupt or truncated PNG/);
});

test('JPEG frame header: gray and colour component counts', async () => {
  const gray = await sharp(pattern(1), { raw: { width: 37, height: 23, channels: 1 } }).toColourspace('b-w').jpeg().toBuffer();
  const rgb = await sharp(pattern(3), { raw: { width: 37, height: 23, channels: 3 } }).jpeg().toBuffer();
  assert.equal(jpegComponents(gray), 1);
  assert.equal(jpegComponents(rgb), 3);
  const file = path.join(TMP, 'g.jpg');
  writeFileSync(file, gray);
  assert.equal((await readImage(file)).channels, 1, 'the CLI reads that file as 1 channel too');
});


test('orientation: a 3x2 gray image tagged 6 (turn 90 clockwise) is the hand-written upright 2x3', () => {
  // stored rows [10 20 30] [40 50 60]; upright: the left column bottom-up becomes the first row
  const img = orient({ width: 3, height: 2, channels: 1, data: Uint8Array.of(10, 20, 30, 40, 50, 60) }, 6);
  assert.deepEqual([img.width, img.height, [...img.data]], [2, 3, [40, 10, 50, 20, 60, 30]]);
  const same1 = { width: 3, height: 2, channels: 1 as const, data: Uint8Array.of(1, 2, 3, 4, 5, 6) };
  for (const o of [0, 1, 9, Number.NaN]) assert.equal(orient(same1, o), same1, `orientation ${o} leaves the image`);
});

test('orientation 1-8 in PNG (eXIf) and TIFF (tag 274), gray and RGB, 8- and 16-bit: pixels and size as the CLI orients them', async () => {
  let files = 0;
  for (const channels of [1, 3] as const) {
    const src = distinctImage(7, 4, channels);
    const raw = sharp(Buffer.from(src.data), { raw: { width: 7, height: 4, channels } }).toColourspace(channels === 1 ? 'b-w' : 'srgb');
    const png = await raw.png().toBuffer();
    const png16 = await sharp(pattern(channels, true), { raw: { width: 37, height: 23, channels } }).toColourspace(channels === 1 ? 'grey16' : 'rgb16').png().toBuffer();
    for (let o = 1; o <= 8; o++) {
      const cases: Array<[string, Buffer]> = [
        [`o${o}-${channels}.png`, withExifChunk(png, exifBlock(o))],
        [`o${o}-${channels}-be.png`, withExifChunk(png, exifBlock(o, true))],
        [`o${o}-${channels}-16.png`, withExifChunk(png16, exifBlock(o))],
        [`o${o}-${channels}.tif`, tiffWithOrientation(src, o)],
      ];
      for (const [name, bytes] of cases) {
        assert.equal((await sharp(bytes).metadata()).orientation, o, `${name}: the tag was written`);
        const file = path.join(TMP, name);
        writeFileSync(file, bytes);
        await same(file);
        files++;
      }
    }
  }
  assert.equal(files, 64);
  // An eXIf after the image data is not read (by libvips, hence the CLI): the stored pixels.
  const png = await sharp(Buffer.from(distinctImage(7, 4, 1).data), { raw: { width: 7, height: 4, channels: 1 } }).png().toBuffer();
  const late = withExifChunk(png, exifBlock(6), png.length - 12);
  assert.equal(pngOrientation(late), 1);
  const file = path.join(TMP, 'late-exif.png');
  writeFileSync(file, late);
  await same(file);
  assert.equal((await decodeImage(new Uint8Array(late), 'late-exif.png')).width, 7);
});
