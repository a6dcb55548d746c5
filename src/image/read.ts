import sharp from 'sharp';
import type { Image8 } from './types.js';

/**
 * Read an image file as 8-bit gray or RGB.
 * (Minimal first version: sharp-supported formats only. To be extended: BMP, 16-bit TIFF/PNG
 * stretch, typed errors.)
 */
export async function readImage(file: string): Promise<Image8> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const channels = info.channels === 1 ? 1 : 3;
  return { width: info.width, height: info.height, channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
