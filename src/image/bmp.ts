import bmp from 'bmp-js';
import { InputError } from '../errors.js';
import type { Image8 } from './types.js';

/**
 * BMP decoding (sharp cannot read BMP). bmp-js does the pixel work; this file checks the header first,
 * because bmp-js assumes a 40-byte header with pixels right after the palette and reads garbage (or
 * throws a bare RangeError) otherwise. We rebuild that canonical layout, so V4/V5 headers and gaps
 * before the pixel array decode correctly, and reject what bmp-js gets wrong (bitfields, 16-bit).
 */

const FILE_HEADER = 14;
const INFO_HEADER = 40;
/** BITMAPINFOHEADER and its later extensions (V2, V3, V4, V5); all start with the same 40 bytes. */
const KNOWN_HEADER_SIZES = new Set([40, 52, 56, 108, 124]);

interface BmpHeader {
  headerSize: number;
  pixelOffset: number;
  width: number;
  height: number;
  bitsPerPixel: number;
  compression: number;
  paletteSize: number;
}

function parseHeader(buf: Buffer, file: string): BmpHeader {
  if (buf.length < FILE_HEADER + INFO_HEADER) throw new InputError(file, `truncated BMP: ${buf.length} bytes, shorter than its header; re-export the file`);
  const headerSize = buf.readUInt32LE(14);
  if (!KNOWN_HEADER_SIZES.has(headerSize)) throw new InputError(file, `unsupported BMP header (${headerSize} bytes; OS/2 or unknown variant); convert it to PNG`);
  const bitsPerPixel = buf.readUInt16LE(28);
  const colors = buf.readUInt32LE(46);
  return {
    headerSize,
    pixelOffset: buf.readUInt32LE(10),
    width: buf.readInt32LE(18),
    height: buf.readInt32LE(22),
    bitsPerPixel,
    compression: buf.readUInt32LE(30),
    paletteSize: bitsPerPixel <= 8 ? colors || 1 << bitsPerPixel : 0,
  };
}

/** Which (bits per pixel, compression) pairs bmp-js decodes correctly: BI_RGB, RLE8, RLE4. */
function checkSupported(h: BmpHeader, file: string): void {
  const ok = (h.compression === 0 && [1, 4, 8, 24, 32].includes(h.bitsPerPixel)) || (h.compression === 1 && h.bitsPerPixel === 8) || (h.compression === 2 && h.bitsPerPixel === 4);
  if (!ok) throw new InputError(file, `unsupported BMP variant (${h.bitsPerPixel}-bit, compression ${h.compression}); supported: 1/4/8-bit palette, 24- and 32-bit; convert it to PNG`);
  if (h.width <= 0 || h.height === 0 || h.width > 1 << 16 || Math.abs(h.height) > 1 << 16) throw new InputError(file, `corrupt BMP header: size ${h.width}x${h.height}; re-export the file`);
}

/** The same BMP with a plain 40-byte header, the palette right after it and then the pixels. */
function canonicalLayout(buf: Buffer, h: BmpHeader, file: string): Buffer {
  const paletteStart = FILE_HEADER + h.headerSize;
  const paletteBytes = h.paletteSize * 4;
  if (paletteStart + paletteBytes > buf.length || h.pixelOffset > buf.length) throw new InputError(file, 'truncated BMP: file ends inside its palette; re-export the file');
  if (h.compression === 0) {
    const stride = Math.ceil((h.width * h.bitsPerPixel) / 32) * 4;
    const need = h.pixelOffset + stride * Math.abs(h.height);
    if (buf.length < need) throw new InputError(file, `truncated BMP: ${buf.length} bytes, expected at least ${need} for ${h.width}x${Math.abs(h.height)} at ${h.bitsPerPixel} bits; re-export the file`);
  }
  const header = Buffer.alloc(FILE_HEADER + INFO_HEADER);
  buf.copy(header, 0, 0, FILE_HEADER + INFO_HEADER);
  header.writeUInt32LE(FILE_HEADER + INFO_HEADER + paletteBytes, 10);
  header.writeUInt32LE(INFO_HEADER, 14);
  return Buffer.concat([header, buf.subarray(paletteStart, paletteStart + paletteBytes), buf.subarray(h.pixelOffset)]);
}

/** True when every palette entry is a gray (R = G = B): such a file is a gray image, read as 1 channel. */
function grayPalette(buf: Buffer, h: BmpHeader): boolean {
  if (h.paletteSize === 0) return false;
  const start = FILE_HEADER + h.headerSize;
  for (let i = 0; i < h.paletteSize; i++) {
    const p = start + 4 * i;
    if (buf[p] !== buf[p + 1] || buf[p] !== buf[p + 2]) return false;
  }
  return true;
}

/** Decode a BMP file's bytes. Palette files with a gray palette give 1 channel, others RGB. */
export function decodeBmp(buf: Buffer, file: string): Image8 {
  const h = parseHeader(buf, file);
  checkSupported(h, file);
  let decoded: { width: number; height: number; data: Buffer };
  try {
    decoded = bmp.decode(canonicalLayout(buf, h, file));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(file, `corrupt or truncated BMP (${(err as Error).message}); re-export the file`);
  }
  const { width, height, data: abgr } = decoded;
  const n = width * height;
  if (grayPalette(buf, h)) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = abgr[4 * i + 3];
    return { width, height, channels: 1, data: out };
  }
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[j] = abgr[4 * i + 3];
    out[j + 1] = abgr[4 * i + 2];
    out[j + 2] = abgr[4 * i + 1];
  }
  return { width, height, channels: 3, data: out };
}
