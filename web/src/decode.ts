import { Buffer } from 'buffer';
import { convertIndexedToRgb, decode as decodePng } from 'fast-png';
import { decode as decodeTiff } from 'tiff';
import { InputError } from '../../src/errors.js';
import { decodeBmp } from '../../src/image/bmp.js';
import { DEFAULT_STRETCH, stretch16to8, type Stretch16 } from '../../src/image/depth16.js';
import { describeUnknown, detectFormat } from '../../src/image/format.js';
import type { Image8 } from '../../src/image/types.js';

/**
 * Image files to 8-bit gray or RGB in the browser, with the CLI's rules (src/image/read.ts): the
 * format from the first bytes, gray stored as one channel stays one channel, alpha dropped, palettes
 * expanded, 16-bit PNG/TIFF mapped to 8-bit with the same stretch, and the same orientation (as
 * OpenCV's imread): a JPEG's EXIF orientation (applied by the browser's decoder), a PNG's eXIf
 * orientation (an eXIf chunk before the image data, as libvips reads it) and a TIFF's Orientation tag
 * (274) turn and/or mirror the stored pixels into the upright image (`orient` below, the transforms of
 * OpenCV's ApplyExifOrientation). PNG and TIFF are decoded in JavaScript (exact bytes, no colour
 * management), BMP with the CLI's own decoder (BMP has no orientation), JPEG by the browser
 * (libjpeg-turbo, as sharp).
 */

export async function decodeImage(bytes: Uint8Array, file: string, stretch: Stretch16 = DEFAULT_STRETCH): Promise<Image8> {
  if (bytes.length === 0) throw new InputError(file, 'file is empty (0 bytes); re-export or re-copy it');
  const format = detectFormat(bytes);
  if (!format) throw new InputError(file, `unsupported format: ${describeUnknown(bytes)}; expected PNG, JPEG, TIFF or BMP`);
  try {
    if (format === 'bmp') return decodeBmp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), file);
    if (format === 'png') return fromPng(bytes, file, stretch);
    if (format === 'tiff') return fromTiff(bytes, file, stretch);
    return await fromJpeg(bytes, file);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const name = format.toUpperCase();
    throw new InputError(file, `corrupt or truncated ${name} (${(err as Error).message.split('\n')[0]}); re-export or re-copy the file`);
  }
}

/** Interleaved samples with `stored` channels (colour channels first, then maybe alpha) to gray/RGB 8-bit. */
function toImage8(samples: ArrayLike<number>, width: number, height: number, stored: number, colour: 1 | 3, sixteen: boolean, stretch: Stretch16, file: string): Image8 {
  const n = width * height;
  if (samples.length < n * stored) throw new InputError(file, `truncated image data: ${samples.length} samples for ${width}x${height}x${stored}; re-export the file`);
  const kept = sixteen ? new Uint16Array(n * colour) : new Uint8Array(n * colour);
  for (let i = 0; i < n; i++) for (let c = 0; c < colour; c++) kept[i * colour + c] = samples[i * stored + c];
  const data = sixteen ? stretch16to8(kept as Uint16Array, stretch) : (kept as Uint8Array);
  return { width, height, channels: colour, data };
}

function fromPng(bytes: Uint8Array, file: string, stretch: Stretch16): Image8 {
  const png = decodePng(bytes);
  const { width, height, depth } = png;
  if (png.palette) {
    // Indexed: expand with the palette (RGB, as sharp does; a tRNS alpha is dropped).
    const rgb = convertIndexedToRgb(png);
    const stored = rgb.length / (width * height);
    return orient(toImage8(rgb, width, height, stored, 3, false, stretch, file), pngOrientation(bytes));
  }
  if (depth !== 8 && depth !== 16) throw new InputError(file, `unsupported PNG bit depth ${depth}; export the image as 8- or 16-bit`);
  const colour = png.channels <= 2 ? 1 : 3;
  return orient(toImage8(png.data, width, height, png.channels, colour, depth === 16, stretch, file), pngOrientation(bytes));
}

function fromTiff(bytes: Uint8Array, file: string, stretch: Stretch16): Image8 {
  let ifd: ReturnType<typeof decodeTiff>[number] | undefined;
  // The decoder refuses Orientation other than 1: decode a copy tagged 1, then orient as the tag said.
  const tag = tiffOrientationTag(bytes);
  const orientation = tag?.value ?? 1;
  let stored = bytes;
  if (tag && tag.value !== 1) {
    stored = bytes.slice();
    new DataView(stored.buffer, stored.byteOffset, stored.byteLength).setUint16(tag.offset, 1, tag.little);
  }
  try {
    // The first page, as sharp reads it.
    [ifd] = decodeTiff(stored, { pages: [0] });
  } catch (err) {
    const msg = (err as Error).message;
    // The JavaScript decoder knows uncompressed, LZW, Deflate and PackBits TIFFs, not JPEG-in-TIFF.
    if (/unsupported|unknown/i.test(msg)) throw new InputError(file, `TIFF variant the browser app cannot decode (${msg}); save it as PNG or as an uncompressed/LZW TIFF, or use the CLI`);
    throw err;
  }
  if (!ifd) throw new InputError(file, 'TIFF without an image; re-export the file');
  const bits = ifd.bitsPerSample;
  if (ifd.sampleFormat === 3 || (bits !== 8 && bits !== 16)) {
    throw new InputError(file, `unsupported sample type '${ifd.sampleFormat === 3 ? 'float' : `${bits}-bit`}' in TIFF; expected 8- or 16-bit unsigned integers, export the image as 8- or 16-bit`);
  }
  const samples = ifd.samplesPerPixel;
  const colour = samples - (ifd.alpha ? 1 : 0) === 1 ? 1 : 3;
  return orient(toImage8(ifd.data, ifd.width, ifd.height, samples, colour, bits === 16, stretch, file), orientation);
}

/**
 * The Orientation tag (274, one SHORT) of a classic TIFF's first IFD: its value and where the value
 * is stored; null when absent or the header is not one this reads (the decoder then reports it).
 */
function tiffOrientationTag(b: Uint8Array): { value: number; offset: number; little: boolean } | null {
  if (b.length < 8) return null;
  const little = b[0] === 0x49;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (view.getUint16(2, little) !== 42) return null;
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > b.length) return null;
  const count = view.getUint16(ifd, little);
  for (let k = 0; k < count; k++) {
    const o = ifd + 2 + 12 * k;
    if (o + 12 > b.length) return null;
    if (view.getUint16(o, little) !== 274) continue;
    if (view.getUint16(o + 2, little) !== 3 || view.getUint32(o + 4, little) !== 1) return null;
    return { value: view.getUint16(o + 8, little), offset: o + 8, little };
  }
  return null;
}

/**
 * The Orientation (tag 274) of a PNG's eXIf chunk (a TIFF-structured EXIF block), or 1 when there is
 * none. Only an eXIf before the first IDAT counts, as libvips (the CLI's decoder) reads it.
 */
export function pngOrientation(b: Uint8Array): number {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 8; i + 8 <= b.length; ) {
    const len = view.getUint32(i);
    const type = String.fromCharCode(b[i + 4], b[i + 5], b[i + 6], b[i + 7]);
    if (type === 'IDAT' || type === 'IEND') return 1;
    if (type === 'eXIf') return exifOrientation(b.subarray(i + 8, Math.min(b.length, i + 8 + len)));
    i += 12 + len;
  }
  return 1;
}

/** Orientation (tag 274, SHORT) from the first IFD of a TIFF-structured EXIF block; 1 when absent or malformed. */
function exifOrientation(e: Uint8Array): number {
  if (e.length < 8) return 1;
  const little = e[0] === 0x49 && e[1] === 0x49;
  if (!little && !(e[0] === 0x4d && e[1] === 0x4d)) return 1;
  const view = new DataView(e.buffer, e.byteOffset, e.byteLength);
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > e.length) return 1;
  const count = view.getUint16(ifd, little);
  for (let k = 0; k < count; k++) {
    const o = ifd + 2 + 12 * k;
    if (o + 12 > e.length) return 1;
    if (view.getUint16(o, little) === 274) return view.getUint16(o + 2, little) === 3 ? view.getUint16(o + 8, little) : 1;
  }
  return 1;
}

/**
 * EXIF/TIFF orientation 1-8 applied to the stored pixels, giving the upright image (width and height
 * swap for 5-8), as OpenCV's ApplyExifOrientation and sharp's autoOrient (src/image/read.ts): 2 mirror
 * left-right, 3 turn 180, 4 mirror top-bottom, 5 transpose, 6 turn 90 clockwise, 7 transverse, 8 turn
 * 90 counter-clockwise. Any other value leaves the image as it is. Whole pixels move, no resampling.
 */
export function orient(img: Image8, orientation: number): Image8 {
  if (!Number.isInteger(orientation) || orientation < 2 || orientation > 8) return img;
  const { width: w, height: h, channels: c } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w, oh = swap ? w : h;
  // Stored (x, y) of upright pixel (x, y).
  const at: (x: number, y: number) => number = {
    2: (x: number, y: number) => y * w + (w - 1 - x),
    3: (x: number, y: number) => (h - 1 - y) * w + (w - 1 - x),
    4: (x: number, y: number) => (h - 1 - y) * w + x,
    5: (x: number, y: number) => x * w + y,
    6: (x: number, y: number) => (h - 1 - x) * w + y,
    7: (x: number, y: number) => (h - 1 - x) * w + (w - 1 - y),
    8: (x: number, y: number) => x * w + (w - 1 - y),
  }[orientation]!;
  const data = new Uint8Array(w * h * c);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const from = at(x, y) * c, to = (y * ow + x) * c;
      for (let k = 0; k < c; k++) data[to + k] = img.data[from + k];
    }
  }
  return { width: ow, height: oh, channels: c, data };
}

/** Number of colour components in a JPEG's frame header (1 = gray), or 3 when not found. */
export function jpegComponents(b: Uint8Array): number {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return 3;
    const marker = b[i + 1];
    const len = (b[i + 2] << 8) | b[i + 3];
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return b[i + 9];
    i += 2 + len;
  }
  return 3;
}

async function fromJpeg(bytes: Uint8Array, file: string): Promise<Image8> {
  const bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' }).catch((err: Error) => {
    throw new InputError(file, `corrupt or truncated JPEG (${err.message || 'the browser cannot decode it'}); re-export or re-copy the file`);
  });
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas in this browser');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  return toImage8(rgba, width, height, 4, jpegComponents(bytes) === 1 ? 1 : 3, false, DEFAULT_STRETCH, file);
}
