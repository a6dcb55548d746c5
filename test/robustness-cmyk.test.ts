/**
 * JPEG colour spaces read as OpenCV's imread reads them (the reference evaluator's reader), for eval
 * and for fuse: the YCCK field case in ../shared/field-cases/cmyk-jpeg against the reference
 * evaluator's metrics; CMYK patches made here (a hand-built CMYK TIFF saved as JPEG by sharp) against
 * OpenCV's icvCvt_CMYK2BGR formula worked out by hand, with and without the Adobe marker and with an
 * embedded CMYK profile; RGB files with an embedded ICC profile read as their stored values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode as decodePng } from 'fast-png';
import sharp from 'sharp';
import { toGray } from '../src/image/color.js';
import { readImage } from '../src/image/read.js';
import { METRICS } from '../src/metrics/index.js';
import { fuseFiles } from '../src/fusion/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIELD = path.join(ROOT, '..', 'shared', 'field-cases', 'cmyk-jpeg');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-cmyk-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array) => {
  const p = path.join(tmp, name);
  writeFileSync(p, bytes);
  return p;
};

// As test/metrics-oracle.test.ts (1e-4 relative, VIF 1e-3), plus the reference file's own rounding
// (6 decimals).
const TOLERANCE: Record<string, number> = { VIF: 1e-3 };

test('YCCK field case: every metric equals the reference evaluator\'s (tesg read it ~10 levels brighter before)', { skip: !existsSync(FIELD) && 'no ../shared/field-cases' }, async () => {
  const ref = JSON.parse(readFileSync(path.join(FIELD, 'reference-metrics.json'), 'utf8')) as Record<string, number>;
  const [fused, ir, vi] = await Promise.all(['fused.png', 'ir.png', 'vi.jpg'].map(async (f) => toGray(await readImage(path.join(FIELD, f)))));
  const names = Object.keys(ref);
  assert.equal(names.length, 13);
  for (const name of names) {
    const metric = METRICS.find((m) => m.name === name);
    assert.ok(metric, `tesg has no metric ${name}`);
    const got = metric.compute(fused, ir, vi);
    const err = Math.abs(got - ref[name]);
    const tol = Math.max((TOLERANCE[name] ?? 1e-4) * Math.abs(ref[name]), 5e-7);
    assert.ok(err <= tol, `${name}: tesg ${got}, reference ${ref[name]} (|diff| ${err.toExponential(2)} > ${tol.toExponential(2)})`);
  }
  // The figures: sharp's profile conversion gave MSE 2834.3 and PSNR 11.276.
  assert.ok(Math.abs(METRICS.find((m) => m.name === 'MSE')!.compute(fused, ir, vi) - 2459.769) < 0.01);
});

/** An uncompressed 8-bit CMYK TIFF (PhotometricInterpretation 5, one strip), built byte by byte. */
function cmykTiff(w: number, h: number, px: Uint8Array): Buffer {
  const tags: Array<[number, number, number]> = [
    [256, 3, w], [257, 3, h], [258, 3, 134], [259, 3, 1], [262, 3, 5],
    [273, 4, 142], [277, 3, 4], [278, 3, h], [279, 4, px.length], [284, 3, 1],
  ];
  const b = Buffer.alloc(142 + px.length);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(8, 4);
  b.writeUInt16LE(tags.length, 8);
  tags.forEach(([tag, type, value], i) => {
    const o = 10 + 12 * i;
    b.writeUInt16LE(tag, o);
    b.writeUInt16LE(type, o + 2);
    b.writeUInt32LE(tag === 258 ? 4 : 1, o + 4);
    if (type === 3 && tag !== 258) b.writeUInt16LE(value, o + 8);
    else b.writeUInt32LE(value, o + 8);
  });
  for (let i = 0; i < 4; i++) b.writeUInt16LE(8, 134 + 2 * i);
  Buffer.from(px).copy(b, 142);
  return b;
}

/** A JPEG's segments before the scan: [marker, start, end) offsets. */
function segments(jpg: Buffer): Array<{ marker: number; start: number; end: number }> {
  const out = [];
  for (let i = 2; i < jpg.length; ) {
    const marker = jpg[i + 1];
    if (marker === 0xda) break;
    const end = i + 2 + jpg.readUInt16BE(i + 2);
    out.push({ marker, start: i, end });
    i = end;
  }
  return out;
}
const withoutMarker = (jpg: Buffer, marker: number) =>
  Buffer.concat([jpg.subarray(0, 2), ...segments(jpg).filter((s) => s.marker !== marker).map((s) => jpg.subarray(s.start, s.end)), jpg.subarray(segments(jpg).at(-1)!.end)]);
const withSegmentsOf = (jpg: Buffer, donor: Buffer, marker: number) =>
  Buffer.concat([jpg.subarray(0, 2), ...segments(donor).filter((s) => s.marker === marker).map((s) => donor.subarray(s.start, s.end)), jpg.subarray(2)]);

// Four 8x8 flat patches (exact through a quality-100 JPEG): ink C, M, Y, K in 0..255.
const INKS = [[0, 0, 0, 0], [128, 0, 64, 32], [255, 0, 0, 0], [10, 200, 30, 100]];
// OpenCV on the stored (Adobe-inverted, s = 255 - ink) values, by hand: R = sK - ((255 - sC) * sK >> 8).
// e.g. patch 2: sK = 223, R = 223 - (128 * 223 >> 8) = 112, B = 223 - (64 * 223 >> 8) = 168.
const OPENCV_RGB = [[255, 255, 255], [112, 223, 168], [1, 255, 255], [149, 34, 137]];

async function cmykJpeg(): Promise<Buffer> {
  const W = 32, H = 8;
  const px = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px.set(INKS[x >> 3], (y * W + x) * 4);
  return sharp(cmykTiff(W, H, px)).pipelineColourspace('cmyk').toColourspace('cmyk').jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
}

function patches(img: { width: number; data: Uint8Array; channels: number }): number[][] {
  return INKS.map((_, i) => Array.from(img.data.subarray(i * 8 * img.channels, i * 8 * img.channels + 3)));
}

test('CMYK JPEG: OpenCV\'s formula on flat patches; the same without the Adobe marker and with an embedded CMYK profile', async () => {
  const plain = await cmykJpeg();
  assert.equal((await sharp(plain).metadata()).space, 'cmyk');
  assert.ok(segments(plain).some((s) => s.marker === 0xee), 'sharp writes an Adobe APP14 marker');
  const img = await readImage(file('cmyk.jpg', plain));
  assert.deepEqual([img.width, img.height, img.channels], [32, 8, 3]);
  assert.deepEqual(patches(img), OPENCV_RGB);
  // Without APP14 libjpeg still decodes 4 components as CMYK and OpenCV never inverts: same pixels.
  assert.deepEqual(patches(await readImage(file('no-adobe.jpg', withoutMarker(plain, 0xee)))), OPENCV_RGB);
  // An embedded CMYK profile (APP2) is ignored, as OpenCV ignores it.
  const tagged = await sharp(plain).pipelineColourspace('cmyk').withIccProfile('cmyk').jpeg().toBuffer();
  const withProfile = withSegmentsOf(plain, tagged, 0xe2);
  assert.ok((await sharp(withProfile).metadata()).hasProfile);
  assert.deepEqual(patches(await readImage(file('profile.jpg', withProfile))), OPENCV_RGB);
});

test('RGB PNG and JPEG with an embedded Display-P3 profile: the stored values (no profile conversion)', async () => {
  const W = 16, H = 16;
  const rgb = Buffer.alloc(W * H * 3);
  for (let i = 0; i < rgb.length; i += 3) rgb.set([200, 60, 30], i);
  const png = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).withIccProfile('p3').png().toBuffer();
  const stored = decodePng(png); // fast-png: no colour management
  const read = await readImage(file('p3.png', png));
  assert.deepEqual(Array.from(read.data.subarray(0, 3)), Array.from(stored.data.subarray(0, 3)));
  assert.deepEqual(Array.from(read.data), Array.from(stored.data as Uint8Array));
  assert.notDeepEqual(Array.from(read.data.subarray(0, 3)), [200, 60, 30], 'P3 stores other numbers than the sRGB source');

  const jpg = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).withIccProfile('p3').jpeg({ quality: 100 }).toBuffer();
  assert.ok((await sharp(jpg).metadata()).hasProfile);
  const withIcc = await readImage(file('p3.jpg', jpg));
  const withoutIcc = await readImage(file('p3-stripped.jpg', withoutMarker(jpg, 0xe2)));
  assert.deepEqual(Array.from(withIcc.data), Array.from(withoutIcc.data));
});

test('fuse reads a CMYK VI as eval does: same fused image as from that VI saved as PNG', async () => {
  const vi = file('vi.jpg', await cmykJpeg());
  const viRgb = await readImage(vi);
  const viPng = file('vi.png', await sharp(Buffer.from(viRgb.data), { raw: { width: 32, height: 8, channels: 3 } }).png().toBuffer());
  const ir = file('ir.png', await sharp(Buffer.alloc(32 * 8, 90), { raw: { width: 32, height: 8, channels: 1 } }).png().toBuffer());
  const a = await fuseFiles(ir, vi, path.join(tmp, 'f-jpg.png'), { method: 'average' });
  const b = await fuseFiles(ir, viPng, path.join(tmp, 'f-png.png'), { method: 'average' });
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  // Patch 2 (VI 112, 223, 168: luma 181.3) averaged with IR 90 keeps VI's chroma: red stays below green.
  assert.ok(a.data[8 * 3] < a.data[8 * 3 + 1], `fused ${Array.from(a.data.subarray(24, 27))}`);
});
