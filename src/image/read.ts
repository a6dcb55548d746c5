import { promises as fs } from 'node:fs';
import { sharp } from './sharp.js';
import { InputError, MismatchError, UsageError } from '../errors.js';
import { decodeBmp } from './bmp.js';
import { cmykToRgbOpenCv, libjpegCmykFromSharp } from './cmyk.js';
import { DEFAULT_STRETCH, STRETCH_MODES, stretch16to8, type Stretch16 } from './depth16.js';
import { describeUnknown, detectFormat, type ImageFormat } from './format.js';
import type { Image8 } from './types.js';

/**
 * Reading images as 8-bit gray or RGB. The format comes from the file's first bytes, not its name.
 * PNG, JPEG, TIFF via sharp (libvips); BMP via bmp-js (./bmp.ts). Gray stored as one channel stays one
 * channel; gray stored as RGB stays RGB (the gray conversion makes them equal). Alpha is dropped;
 * palettes are expanded. 16-bit PNG/TIFF are mapped to 8-bit by a stretch (./depth16.ts).
 * Orientation as OpenCV's imread applies it (the reference evaluator reads with cv2.imread's default
 * flags): the EXIF Orientation of a JPEG (APP1) or PNG (eXIf chunk, OpenCV >= 4.5.2) and a TIFF's
 * Orientation tag (274) turn and/or mirror the stored pixels into the upright image, so width and
 * height swap for orientations 5-8; IR and VI are then compared at their oriented sizes. BMP has no
 * orientation. Rotations and mirrors move whole pixels, no resampling (sharp's autoOrient).
 * Colour as OpenCV's imread (the reference evaluator's reader): embedded ICC profiles are ignored (the
 * stored values are the pixels), and CMYK/YCCK JPEGs are converted with OpenCV's formula (./cmyk.ts).
 * Every failure is an InputError that names the file and says what to do.
 */
export interface ReadOptions {
  /** How 16-bit samples map to 8-bit (default 'minmax'). Ignored for 8-bit files. */
  stretch?: Stretch16;
}

export interface ImageSize {
  width: number;
  height: number;
}

const FORMAT_NAME: Record<ImageFormat, string> = { png: 'PNG', jpeg: 'JPEG', tiff: 'TIFF', bmp: 'BMP' };
/**
 * Truncated data is an error (libvips would otherwise fill the missing rows with gray); benign decoder
 * warnings (e.g. libjpeg's "extraneous bytes before marker", which OpenCV and PIL accept) are not.
 * ICC profiles are ignored as OpenCV ignores them (sharp would convert a Display-P3 or Adobe-RGB file
 * to sRGB: up to ~15 levels per channel away from what the reference evaluator reads).
 */
const SHARP_INPUT = { failOn: 'truncated', ignoreIcc: true } as const;

/**
 * Decode `file` (PNG, JPEG, TIFF or BMP, found from its bytes) to 8-bit pixels, row-major, channels
 * interleaved: 1 (gray) or 3 (RGB), values 0..255, upright as OpenCV's imread orients it (see above).
 * Errors: InputError naming the file (missing, unreadable, empty, unsupported or corrupt), UsageError
 * for an unknown `stretch`.
 */
export async function readImage(file: string, opts: ReadOptions = {}): Promise<Image8> {
  const stretch = opts.stretch ?? DEFAULT_STRETCH;
  if (!STRETCH_MODES.includes(stretch)) throw new UsageError(`unknown stretch '${stretch}'; expected one of ${STRETCH_MODES.join(', ')}`);
  const bytes = await readBytes(file);
  const format = checkedFormat(bytes, file);
  if (format === 'bmp') return decodeBmp(bytes, file);
  return decodeWithSharp(bytes, format, file, stretch);
}

/**
 * Width and height in pixels from the header, without decoding pixels (still validates the format):
 * the oriented size, as readImage returns it (swapped for EXIF/TIFF orientations 5-8). Errors as readImage.
 */
export async function readImageSize(file: string): Promise<ImageSize> {
  const bytes = await readBytes(file);
  const format = checkedFormat(bytes, file);
  if (format === 'bmp') {
    if (bytes.length < 26) throw new InputError(file, 'truncated BMP header; re-export the file');
    return { width: bytes.readInt32LE(18), height: Math.abs(bytes.readInt32LE(22)) };
  }
  const meta = await sharp(bytes, SHARP_INPUT).metadata().catch((err: Error) => {
    throw corrupt(file, format, err);
  });
  return { width: meta.autoOrient?.width ?? meta.width ?? 0, height: meta.autoOrient?.height ?? meta.height ?? 0 };
}

/** Throw a MismatchError naming both files and both sizes unless the two images have the same size. */
export function assertSameSize(a: ImageSize, aPath: string, b: ImageSize, bPath: string): void {
  if (a.width === b.width && a.height === b.height) return;
  throw new MismatchError(
    `size mismatch: ${aPath} is ${a.width}x${a.height} but ${bPath} is ${b.width}x${b.height}; the two images must be aligned and the same size`,
  );
}

async function readBytes(file: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(file, 'no such file; check the path');
    if (code === 'EISDIR') throw new InputError(file, 'is a folder, expected an image file (folders go to --ir/--vi)');
    if (code === 'EACCES' || code === 'EPERM') throw new InputError(file, 'permission denied; make the file readable');
    throw new InputError(file, `cannot read the file (${code ?? (err as Error).message})`);
  }
  if (bytes.length === 0) throw new InputError(file, 'file is empty (0 bytes); re-export or re-copy it');
  return bytes;
}

function checkedFormat(bytes: Buffer, file: string): ImageFormat {
  const format = detectFormat(bytes);
  if (!format) throw new InputError(file, `unsupported format: ${describeUnknown(bytes)}; expected PNG, JPEG, TIFF or BMP`);
  return format;
}

function corrupt(file: string, format: ImageFormat, err: Error): InputError {
  const reason = err.message.split('\n')[0].trim();
  return new InputError(file, `corrupt or truncated ${FORMAT_NAME[format]} (${reason}); re-export or re-copy the file`);
}

async function decodeWithSharp(bytes: Buffer, format: ImageFormat, file: string, stretch: Stretch16): Promise<Image8> {
  const meta = await sharp(bytes, SHARP_INPUT).metadata().catch((err: Error) => {
    throw corrupt(file, format, err);
  });
  const depth = meta.depth;
  if (depth !== 'uchar' && depth !== 'ushort') {
    throw new InputError(file, `unsupported sample type '${depth}' in ${FORMAT_NAME[format]}; expected 8- or 16-bit unsigned integers, export the image as 8- or 16-bit`);
  }
  if (format === 'jpeg' && meta.space === 'cmyk') return decodeCmykJpeg(bytes, file);
  const gray = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0) === 1;
  const sixteen = depth === 'ushort';
  // An explicit colourspace keeps 1-channel files at 1 channel (sharp would widen them to sRGB),
  // converts CMYK to RGB, and with the 16-bit spaces keeps the full sample range.
  const space = sixteen ? (gray ? 'grey16' : 'rgb16') : gray ? 'b-w' : 'srgb';
  const pipeline = sharp(bytes, SHARP_INPUT).autoOrient().removeAlpha().toColourspace(space).raw(sixteen ? { depth: 'ushort' } : {});
  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true }).catch((err: Error) => {
    throw corrupt(file, format, err);
  });
  if (info.channels !== 1 && info.channels !== 3) throw new InputError(file, `unsupported channel layout (${info.channels} channels); export as gray or RGB`);
  const pixels = sixteen ? stretch16to8(new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)), stretch) : new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { width: info.width, height: info.height, channels: info.channels, data: pixels };
}

/** A CMYK or YCCK JPEG as OpenCV reads it: sharp's raw CMYK bands, no profile conversion (./cmyk.ts). */
async function decodeCmykJpeg(bytes: Buffer, file: string): Promise<Image8> {
  const pipeline = sharp(bytes, SHARP_INPUT).autoOrient().pipelineColourspace('cmyk').toColourspace('cmyk').raw();
  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true }).catch((err: Error) => {
    throw corrupt(file, 'jpeg', err);
  });
  if (info.channels !== 4) throw new InputError(file, `CMYK JPEG decoded to ${info.channels} channels, expected 4; convert it to RGB`);
  return { width: info.width, height: info.height, channels: 3, data: cmykToRgbOpenCv(libjpegCmykFromSharp(data)) };
}
