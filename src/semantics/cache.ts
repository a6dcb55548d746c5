import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sharp } from '../image/sharp.js';
import { InputError, MismatchError } from '../errors.js';
import type { Image8 } from '../image/types.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { BinaryMask, SigResult } from './types.js';

/**
 * The SIG cache `tesg sig` writes and training reads, one entry per image stem:
 *   mask_vis/<stem>.png, mask_ir/<stem>.png, mask/<stem>.png   0/255 gray PNG masks
 *   embed/<stem>.f32                                          F_t, float32 little-endian, tokens x dim
 *   text/<stem>.json                                          caption, T^, V*, encoder id, shape
 *   overlay/<stem>.png                                        (optional) masks over VI, to look at
 *   sig.json                                                  the text encoder id every entry uses
 * text/<stem>.json is written last, so its presence (with the others) marks a complete entry; every
 * file is written atomically, so a killed run leaves no half-written file.
 */

export const CACHE_VERSION = 1;

export interface SigCacheHeader {
  version: number;
  textEncoderId: string;
  tokens: number;
  dim: number;
  captioner?: string;
  masker?: string;
}

export interface SigTextRecord {
  stem: string;
  caption: string;
  captionWithout: string;
  keywords: string[];
  textEncoderId: string;
  tokens: number;
  dim: number;
  /** Where T came from: the captioner's name, or 'user'. */
  captionSource: string;
  /** Where V* came from: 'caption' (found in T) or 'user'. */
  keywordSource: 'caption' | 'user';
  width: number;
  height: number;
}

export interface SigCacheEntry extends SigResult {
  stem: string;
  width: number;
  height: number;
  tokens: number;
  dim: number;
}

const paths = (dir: string, stem: string) => ({
  maskVis: path.join(dir, 'mask_vis', `${stem}.png`),
  maskIr: path.join(dir, 'mask_ir', `${stem}.png`),
  mask: path.join(dir, 'mask', `${stem}.png`),
  embed: path.join(dir, 'embed', `${stem}.f32`),
  text: path.join(dir, 'text', `${stem}.json`),
  overlay: path.join(dir, 'overlay', `${stem}.png`),
});

const exists = (f: string) => fs.access(f).then(() => true, () => false);

/**
 * Write (or check) sig.json. A cache holds the entries of one text encoder, captioner and masker (the
 * SIG version a model records from it): another encoder is a MismatchError; another captioner or masker
 * is one too unless `force` (the caller recomputes the pairs; the header then names the new ones).
 */
export async function openSigCache(dir: string, header: Omit<SigCacheHeader, 'version'>, opts: { force?: boolean } = {}): Promise<void> {
  const file = path.join(dir, 'sig.json');
  if (await exists(file)) {
    const old = await readHeader(dir);
    if (old.textEncoderId !== header.textEncoderId || old.tokens !== header.tokens || old.dim !== header.dim) {
      throw new MismatchError(
        `${file}: this cache holds embeddings of text encoder ${old.textEncoderId} (${old.tokens}x${old.dim}), not ${header.textEncoderId} (${header.tokens}x${header.dim}); use another --out folder or delete this one`,
      );
    }
    const same = (old.captioner ?? header.captioner) === header.captioner && (old.masker ?? header.masker) === header.masker;
    if (same) return;
    if (!opts.force) {
      throw new MismatchError(
        `${file}: this cache was made by ${old.masker ?? old.captioner}, not ${header.masker ?? header.captioner}; add --force to recompute its pairs with the new one, or use another --out folder`,
      );
    }
  }
  await writeFileAtomic(file, JSON.stringify({ version: CACHE_VERSION, ...header }, null, 2) + '\n');
}

export async function readHeader(dir: string): Promise<SigCacheHeader> {
  const file = path.join(dir, 'sig.json');
  let h: SigCacheHeader;
  try {
    h = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' ? 'no SIG cache here; run `tesg sig --ir DIR --vi DIR --out DIR` first' : `unreadable SIG cache header (${(err as Error).message})`);
  }
  if (h.version !== CACHE_VERSION || typeof h.textEncoderId !== 'string') {
    throw new InputError(file, `expected a SIG cache header of version ${CACHE_VERSION} with a textEncoderId; rebuild the cache with tesg sig`);
  }
  return h;
}

/** Is the entry for `stem` complete (resume skips it)? */
export async function hasSigEntry(dir: string, stem: string): Promise<boolean> {
  const p = paths(dir, stem);
  const all = await Promise.all([p.text, p.maskVis, p.maskIr, p.mask, p.embed].map(exists));
  return all.every(Boolean);
}

async function maskPng(m: BinaryMask): Promise<Buffer> {
  const px = new Uint8Array(m.data.length);
  for (let i = 0; i < px.length; i++) px[i] = m.data[i] ? 255 : 0;
  return sharp(px, { raw: { width: m.width, height: m.height, channels: 1 } }).png({ compressionLevel: 9 }).toBuffer();
}

/** Masks over VI: M_vis only red, M_ir only cyan, both yellow; the rest dimmed. */
export function overlayImage(vi: Image8, r: Pick<SigResult, 'maskVis' | 'maskIr'>): Image8 {
  const n = vi.width * vi.height, out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v = r.maskVis.data[i], ir = r.maskIr.data[i];
    const tint = v && ir ? [255, 220, 0] : v ? [255, 50, 50] : ir ? [40, 200, 255] : null;
    for (let k = 0; k < 3; k++) {
      const base = vi.channels === 3 ? vi.data[i * 3 + k] : vi.data[i];
      out[i * 3 + k] = tint ? Math.round(0.55 * base + 0.45 * tint[k]) : Math.round(0.7 * base);
    }
  }
  return { width: vi.width, height: vi.height, channels: 3, data: out };
}

export interface WriteEntryOptions {
  captionSource: string;
  keywordSource: 'caption' | 'user';
  /** VI, to write an overlay. */
  overlayOf?: Image8;
}

export async function writeSigEntry(dir: string, stem: string, r: SigResult, tokens: number, dim: number, opts: WriteEntryOptions): Promise<void> {
  const p = paths(dir, stem);
  if (r.embedding.length !== tokens * dim) throw new Error(`embedding has ${r.embedding.length} values, expected ${tokens}x${dim}`);
  await Promise.all([
    maskPng(r.maskVis).then((b) => writeFileAtomic(p.maskVis, b)),
    maskPng(r.maskIr).then((b) => writeFileAtomic(p.maskIr, b)),
    maskPng(r.mask).then((b) => writeFileAtomic(p.mask, b)),
    writeFileAtomic(p.embed, new Uint8Array(Float32Array.from(r.embedding).buffer)),
  ]);
  if (opts.overlayOf) {
    const ov = overlayImage(opts.overlayOf, r);
    const png = await sharp(ov.data, { raw: { width: ov.width, height: ov.height, channels: 3 } }).png().toBuffer();
    await writeFileAtomic(p.overlay, png);
  }
  const rec: SigTextRecord = {
    stem,
    caption: r.caption,
    captionWithout: r.captionWithout,
    keywords: r.keywords,
    textEncoderId: r.textEncoderId,
    tokens,
    dim,
    captionSource: opts.captionSource,
    keywordSource: opts.keywordSource,
    width: r.mask.width,
    height: r.mask.height,
  };
  await writeFileAtomic(p.text, JSON.stringify(rec, null, 2) + '\n'); // last: marks the entry complete
}

async function readMask(file: string, w: number, h: number): Promise<BinaryMask> {
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    raw = await sharp(file).greyscale().raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new InputError(file, `cannot read the cached mask (${(err as Error).message}); rerun tesg sig on this stem`);
  }
  if (raw.info.width !== w || raw.info.height !== h) throw new InputError(file, `mask is ${raw.info.width}x${raw.info.height}, expected ${w}x${h}`);
  const data = new Uint8Array(w * h);
  for (let i = 0; i < data.length; i++) data[i] = raw.data[i * raw.info.channels] >= 128 ? 1 : 0;
  return { width: w, height: h, data };
}

/**
 * Read one cache entry. With `expectTextEncoderId` (what a model was trained with), an entry made by
 * another text encoder is a MismatchError.
 */
export async function readSigCache(dir: string, stem: string, expectTextEncoderId?: string): Promise<SigCacheEntry> {
  const p = paths(dir, stem);
  let rec: SigTextRecord;
  try {
    rec = JSON.parse(await fs.readFile(p.text, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(p.text, code === 'ENOENT' ? `no SIG cache entry for '${stem}'; run tesg sig on its folder first` : `unreadable (${(err as Error).message})`);
  }
  if (expectTextEncoderId && rec.textEncoderId !== expectTextEncoderId) {
    throw new MismatchError(`${p.text}: embedding made by text encoder ${rec.textEncoderId}, but the model expects ${expectTextEncoderId}; rebuild the cache with that encoder`);
  }
  const bytes = await fs.readFile(p.embed).catch(() => {
    throw new InputError(p.embed, `missing; rerun tesg sig on '${stem}'`);
  });
  if (bytes.length !== rec.tokens * rec.dim * 4) {
    throw new InputError(p.embed, `holds ${bytes.length} bytes, expected ${rec.tokens}x${rec.dim} float32 (${rec.tokens * rec.dim * 4}); rerun tesg sig on '${stem}'`);
  }
  const embedding = new Float32Array(rec.tokens * rec.dim);
  new Uint8Array(embedding.buffer).set(bytes);
  const [maskVis, maskIr, mask] = await Promise.all([p.maskVis, p.maskIr, p.mask].map((f) => readMask(f, rec.width, rec.height)));
  return {
    stem,
    width: rec.width,
    height: rec.height,
    tokens: rec.tokens,
    dim: rec.dim,
    caption: rec.caption,
    captionWithout: rec.captionWithout,
    keywords: rec.keywords,
    maskVis,
    maskIr,
    mask,
    embedding,
    textEncoderId: rec.textEncoderId,
  };
}
