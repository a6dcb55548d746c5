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
 * expanded, 16-bit PNG/TIFF mapped to 8-bit with the same stretch. PNG and TIFF are decoded in
 * JavaScript (exact bytes, no colour management), BMP with the CLI's own decoder, JPEG by the browser
 * (libjpeg-turbo, as sharp). One known difference: the browser applies a JPEG's EXIF orientation, the CLI
 * does not (fusion pairs from cameras carry none).
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
    return toImage8(rgb, width, height, stored, 3, false, stretch, file);
  }
  if (depth !== 8 && depth !== 16) throw new InputError(file, `unsupported PNG bit depth ${depth}; export the image as 8- or 16-bit`);
  const colour = png.channels <= 2 ? 1 : 3;
  return toImage8(png.data, width, height, png.channels, colour, depth === 16, stretch, file);
}

function fromTiff(bytes: Uint8Array, file: string, stretch: Stretch16): Image8 {
  let ifd: ReturnType<typeof decodeTiff>[number] | undefined;
  try {
    [ifd] = decodeTiff(bytes);
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
  const stored = ifd.samplesPerPixel;
  const colour = stored - (ifd.alpha ? 1 : 0) === 1 ? 1 : 3;
  return toImage8(ifd.data, ifd.width, ifd.height, stored, colour, bits === 16, stretch, file);
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
