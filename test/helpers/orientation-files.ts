/**
 * Image files carrying an orientation tag, written byte by byte (sharp's withMetadata would also add an
 * sRGB profile and widen gray to RGB, and cannot write a TIFF's tag alone): the EXIF payload of JPEG APP1
 * and PNG eXIf, a PNG with an eXIf chunk, an uncompressed TIFF with tag 274. Used by the CLI reader's
 * tests (test/image-read.test.ts) and the web page's (test/web-decode.test.ts).
 */
import zlib from 'node:zlib';
import type { Image8 } from '../../src/image/types.js';

/** A w x h image whose every pixel (and channel) differs, so any misplaced pixel shows. */
export function distinctImage(w: number, h: number, channels: 1 | 3): Image8 {
  return { width: w, height: h, channels, data: Uint8Array.from({ length: w * h * channels }, (_, i) => (i * 37 + 11) % 256) };
}

/** A TIFF IFD0 holding only Orientation (tag 274, SHORT), little- or big-endian: the EXIF payload of JPEG APP1 and PNG eXIf. */
export function exifBlock(orientation: number, bigEndian = false): Buffer {
  const b = Buffer.alloc(26);
  const u16 = (v: number, o: number) => (bigEndian ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
  const u32 = (v: number, o: number) => (bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  b.write(bigEndian ? 'MM' : 'II', 0, 'latin1');
  u16(42, 2);
  u32(8, 4);
  u16(1, 8); // one entry
  u16(274, 10);
  u16(3, 12); // SHORT
  u32(1, 14);
  u16(orientation, 18);
  return b; // next-IFD offset 0
}

/** `png` with an eXIf chunk inserted before byte `at` (default: right after IHDR). */
export function withExifChunk(png: Buffer, exif: Buffer, at = 8 + 8 + 13 + 4): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(exif.length, 0);
  head.write('eXIf', 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), exif])), 0);
  return Buffer.concat([png.subarray(0, at), head, exif, crc, png.subarray(at)]);
}

/** An uncompressed TIFF (one strip, 8-bit gray or RGB) with tag 274 = orientation. */
export function tiffWithOrientation(img: Image8, orientation: number): Buffer {
  const c = img.channels;
  const entries: Array<[number, number, number, number]> = [
    // tag, type (3 SHORT, 4 LONG), count, value or offset
    [256, 4, 1, img.width], [257, 4, 1, img.height], [258, 3, c, c === 1 ? 8 : 146], [259, 3, 1, 1], [262, 3, 1, c === 1 ? 1 : 2],
    [273, 4, 1, 152], [274, 3, 1, orientation], [277, 3, 1, c], [278, 4, 1, img.height], [279, 4, 1, img.data.length], [284, 3, 1, 1],
  ];
  const b = Buffer.alloc(152 + img.data.length);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(8, 4);
  b.writeUInt16LE(entries.length, 8); // 11 entries: the IFD ends at 8 + 2 + 132 + 4 = 146
  entries.forEach(([tag, type, count, value], i) => {
    const o = 10 + 12 * i;
    b.writeUInt16LE(tag, o);
    b.writeUInt16LE(type, o + 2);
    b.writeUInt32LE(count, o + 4);
    if (type === 3 && count === 1) b.writeUInt16LE(value, o + 8);
    else b.writeUInt32LE(value, o + 8);
  });
  for (let k = 0; k < 3; k++) b.writeUInt16LE(8, 146 + 2 * k); // BitsPerSample 8,8,8 for RGB
  b.set(img.data, 152);
  return b;
}
