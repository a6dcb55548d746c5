/**
 * The report's gallery data: for every scored image, a thumbnail and a full-size file per column
 * (IR, VI, each method), written under `report_files/` beside report.html so the page loads nothing
 * from outside its folder.
 *
 * - Thumbnails: the image as tesg read it for scoring (8-bit; 16-bit frames stretched as `tesg eval`
 *   does), resized by sharp to THUMB_WIDTH px wide, JPEG quality 82.
 * - Full size: a browser-readable 8-bit PNG/JPEG is hard-linked (no extra disk; tesg writes outputs
 *   by rename, so a later `tesg fuse --overwrite` leaves the report's file as it was scored) or copied
 *   where linking is impossible; any other file (TIFF, BMP, 16-bit PNG) is written as the 8-bit PNG
 *   that was scored.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sharp } from '../image/sharp.js';
import { detectFormat } from '../image/format.js';
import { readImage } from '../image/read.js';
import { encodeImage } from '../image/write.js';
import { pairByStem } from '../util/pairing.js';
import { createProgress } from '../util/progress.js';
import type { EvalResult } from '../eval/run.js';
import type { MetricValues } from '../eval/types.js';

export const THUMB_WIDTH = 176;
const THUMB_QUALITY = 82;
/** Images processed at once (sharp runs each on its own threads; this bounds memory). */
const CONCURRENCY = 4;

export interface GalleryColumn {
  /** "IR", "VI" or the method name as given to --fused. */
  name: string;
  source: boolean;
  dir: string;
}

export interface GalleryCell {
  /** Paths relative to report.html, '/'-separated. */
  thumb: string;
  full: string;
  width: number;
  height: number;
}

export interface GalleryRow {
  stem: string;
  /** One per column, in column order. */
  cells: GalleryCell[];
  /** Row name (method, or IR/VI with --sources) -> metric values, as in per-image.csv. */
  values: Record<string, MetricValues>;
}

export interface Gallery {
  columns: GalleryColumn[];
  rows: GalleryRow[];
  thumbWidth: number;
}

/** '.png' or '.jpg' for an 8-bit PNG or a JPEG, which every browser shows as tesg read it; else null. */
async function browserExtension(file: string): Promise<string | null> {
  const fd = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(32);
    await fd.read(head, 0, 32, 0);
    const format = detectFormat(head);
    if (format === 'jpeg') return '.jpg';
    // PNG IHDR: bit depth at byte 24.
    return format === 'png' && head[24] === 8 ? '.png' : null;
  } finally {
    await fd.close();
  }
}

async function linkOrCopy(src: string, dst: string): Promise<void> {
  try {
    await fs.link(src, dst);
  } catch {
    await fs.copyFile(src, dst);
  }
}

/** A stem is a file name already, so it is a valid one here too; links to it are percent-encoded. */
function fileName(stem: string, ext: string): string {
  return `${stem}${ext}`;
}

/** `a/b c.png` as a relative URL: each segment percent-encoded. */
function relUrl(...segments: string[]): string {
  return segments.map(encodeURIComponent).join('/');
}

async function writeCell(file: string, filesDir: string, urlBase: string, col: number, stem: string): Promise<GalleryCell> {
  const img = await readImage(file);
  const thumbName = fileName(stem, '.jpg');
  const thumbHeight = Math.max(1, Math.round((img.height * THUMB_WIDTH) / img.width));
  await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } })
    .resize(THUMB_WIDTH, thumbHeight)
    .jpeg({ quality: THUMB_QUALITY })
    .toFile(path.join(filesDir, `c${col}`, 'thumb', thumbName));
  let fullName: string;
  const ext = await browserExtension(file);
  if (ext) {
    fullName = fileName(stem, ext);
    await linkOrCopy(file, path.join(filesDir, `c${col}`, 'full', fullName));
  } else {
    fullName = fileName(stem, '.png');
    await fs.writeFile(path.join(filesDir, `c${col}`, 'full', fullName), await encodeImage(img, 'png'));
  }
  return { thumb: relUrl(urlBase, `c${col}`, 'thumb', thumbName), full: relUrl(urlBase, `c${col}`, 'full', fullName), width: img.width, height: img.height };
}

/**
 * Write thumbnails and full-size images for every scored image into `filesDir` (a fresh folder) and
 * return the gallery's rows, sorted by stem as in per-image.csv. Links in the rows start with
 * `urlBase` (the folder's name as report.html will see it).
 */
export async function writeGallery(r: EvalResult, filesDir: string, opts: { urlBase: string; progress?: boolean }): Promise<Gallery> {
  const columns: GalleryColumn[] = [
    { name: 'IR', source: true, dir: r.folders.ir },
    { name: 'VI', source: true, dir: r.folders.vi },
    ...Object.entries(r.folders.fused).map(([name, dir]) => ({ name, source: false, dir })),
  ];
  const folders: Record<string, string> = {};
  columns.forEach((c, i) => (folders[`c${i}`] = c.dir));
  const files = new Map((await pairByStem(folders)).matched.map((p) => [p.stem, p.files]));
  for (let i = 0; i < columns.length; i++) {
    await fs.mkdir(path.join(filesDir, `c${i}`, 'thumb'), { recursive: true });
    await fs.mkdir(path.join(filesDir, `c${i}`, 'full'), { recursive: true });
  }
  const jobs = r.images.flatMap((img, row) => columns.map((_, col) => ({ row, col, stem: img.stem })));
  const cells: GalleryCell[][] = r.images.map(() => []);
  const progress = opts.progress === false ? undefined : createProgress({ label: 'report images', total: jobs.length });
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const j = jobs[next++];
      cells[j.row][j.col] = await writeCell(files.get(j.stem)![`c${j.col}`], filesDir, opts.urlBase, j.col, j.stem);
      progress?.tick(1, j.stem);
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    progress?.done();
  }
  return {
    columns,
    rows: r.images.map((img, i) => ({ stem: img.stem, cells: cells[i], values: img.rows })),
    thumbWidth: THUMB_WIDTH,
  };
}
