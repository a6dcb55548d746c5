/** Image container formats tesg reads, told apart by their first bytes (never by the extension). */
export type ImageFormat = 'png' | 'jpeg' | 'tiff' | 'bmp';

/** Formats sharp/libvips could read but tesg does not accept, named so the error can say what was found. */
const OTHER_SIGNATURES: Array<[string, (b: Uint8Array) => boolean]> = [
  ['GIF', (b) => b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46],
  ['WebP', (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP'],
  ['HEIF/AVIF', (b) => ascii(b, 4, 4) === 'ftyp'],
  ['PDF', (b) => ascii(b, 0, 4) === '%PDF'],
  ['SVG/XML', (b) => ascii(b, 0, 1) === '<'],
];

function ascii(b: Uint8Array, start: number, len: number): string {
  return String.fromCharCode(...b.subarray(start, start + len));
}

/** The format of an image from its magic bytes, or null when it is none of PNG, JPEG, TIFF, BMP. */
export function detectFormat(b: Uint8Array): ImageFormat | null {
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 3) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 4 && ((ascii(b, 0, 2) === 'II' && b[2] === 42 && b[3] === 0) || (ascii(b, 0, 2) === 'MM' && b[2] === 0 && b[3] === 42))) return 'tiff';
  if (b.length >= 2 && ascii(b, 0, 2) === 'BM') return 'bmp';
  return null;
}

/** A short description of an unsupported file's kind for error messages ("GIF", or its first bytes in hex). */
export function describeUnknown(b: Uint8Array): string {
  for (const [name, test] of OTHER_SIGNATURES) if (b.length >= 12 && test(b)) return name;
  const hex = Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return `unknown (first bytes ${hex})`;
}
