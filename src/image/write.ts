import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sharp } from './sharp.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { Image8 } from './types.js';

/**
 * Writing 8-bit images as PNG or JPEG (chosen by the extension), atomically (temp file + rename, so an
 * interrupted run never leaves a half-written image that a resumed run would skip), and never onto a
 * protected path: the CLI passes the input files, so no option combination can overwrite an input.
 */
export interface WriteOptions {
  /** Paths that must not be written to (compared as the same file on disk: symlinks and hard links count). */
  protect?: string[];
  /** JPEG quality 1..100 (default 95). */
  quality?: number;
}

export const DEFAULT_JPEG_QUALITY = 95;
export const WRITABLE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export async function writeImage(file: string, img: Image8, opts: WriteOptions = {}): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (!WRITABLE_EXTENSIONS.includes(ext)) throw new UsageError(`${file}: cannot write '${ext || 'no extension'}'; name the output .png, .jpg or .jpeg`);
  await refuseProtected(file, opts.protect ?? []);
  await writeFileAtomic(file, await encodeImage(img, ext === '.png' ? 'png' : 'jpeg', opts.quality));
}

/** Encode to PNG (lossless; 1-channel stays gray) or JPEG (4:4:4 chroma: fused detail is fine-grained). */
export async function encodeImage(img: Image8, format: 'png' | 'jpeg', quality = DEFAULT_JPEG_QUALITY): Promise<Buffer> {
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new RangeError(`encodeImage: ${img.data.length} bytes for ${img.width}x${img.height}x${img.channels}`);
  }
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new UsageError(`JPEG quality must be an integer 1..100, got ${quality}`);
  // Without an explicit colourspace sharp widens 1-channel raw input to RGB on output.
  const s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } }).toColourspace(img.channels === 1 ? 'b-w' : 'srgb');
  return format === 'png' ? s.png().toBuffer() : s.jpeg({ quality, chromaSubsampling: '4:4:4' }).toBuffer();
}

/** Throw if `target` is (or, through links, resolves to) one of `protect`. */
export async function refuseProtected(target: string, protect: string[]): Promise<void> {
  const targetId = await fileIdentity(target);
  const resolvedTarget = await realOrResolved(target);
  for (const p of protect) {
    const same = (targetId !== null && targetId === (await fileIdentity(p))) || resolvedTarget === (await realOrResolved(p));
    if (same) throw new UsageError(`refusing to write ${target}: it is the input ${p}; choose another output path`);
  }
}

/** dev:inode of an existing file, or null. */
async function fileIdentity(p: string): Promise<string | null> {
  try {
    const st = await fs.stat(p);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** The real path of p, or of its folder joined with its name when p does not exist yet. */
async function realOrResolved(p: string): Promise<string> {
  const abs = path.resolve(p);
  try {
    return await fs.realpath(abs);
  } catch {
    try {
      return path.join(await fs.realpath(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}
