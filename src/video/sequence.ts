import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { isImageFile } from '../util/pairing.js';

/**
 * Image sequences as video input: a folder of frames (every image file in it, in natural order, so
 * 2.png comes before 10.png), or a printf pattern as ffmpeg takes it (`frames/%05d.png`, `f%d.jpg`),
 * whose numbers must run without gaps. Frames are read with the image reader of `tesg fuse`
 * (src/image/read.ts), so frame k fuses exactly as `tesg fuse` fuses that file.
 */
const PATTERN = /%(0?\d*)d/;

/** 'folder' for a folder, 'pattern' for a path with %d / %05d in its file name, null for a file. */
export async function sequenceKind(input: string): Promise<'folder' | 'pattern' | null> {
  if (PATTERN.test(path.basename(input))) return 'pattern';
  const st = await fs.stat(input).catch(() => null);
  return st?.isDirectory() ? 'folder' : null;
}

export async function listSequence(input: string, kind: 'folder' | 'pattern'): Promise<string[]> {
  return kind === 'folder' ? listFolder(input) : listPattern(input);
}

async function readDir(dir: string, what: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch {
    throw new InputError(what, 'no such folder; check the path');
  }
}

async function listFolder(dir: string): Promise<string[]> {
  const names = (await readDir(dir, dir)).filter(isImageFile).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (names.length === 0) throw new InputError(dir, 'no image files in this folder (png jpg jpeg bmp tif tiff); expected the frames of a sequence');
  return names.map((n) => path.join(dir, n));
}

async function listPattern(pattern: string): Promise<string[]> {
  const dir = path.dirname(pattern), base = path.basename(pattern);
  const m = PATTERN.exec(base)!;
  const width = m[1] ? Number(m[1]) : 0;
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^${escape(base.slice(0, m.index))}(\\d+)${escape(base.slice(m.index + m[0].length))}$`);
  const numbered: Array<[number, string]> = [];
  for (const name of await readDir(dir, pattern)) {
    const hit = re.exec(name);
    // A name matches when printf would have written it: %05d gives 00042, %d gives 42.
    if (hit && String(Number(hit[1])).padStart(width, '0') === hit[1]) {
      numbered.push([Number(hit[1]), path.join(dir, name)]);
    }
  }
  if (numbered.length === 0) throw new InputError(pattern, `no files match this pattern in ${dir}`);
  numbered.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < numbered.length; i++) {
    if (numbered[i][0] !== numbered[i - 1][0] + 1) {
      throw new InputError(pattern, `frame ${numbered[i - 1][0] + 1} is missing (the sequence jumps from ${path.basename(numbered[i - 1][1])} to ${path.basename(numbered[i][1])}); fill the gap or renumber`);
    }
  }
  return numbered.map(([, f]) => f);
}
