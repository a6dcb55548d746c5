/**
 * A real `tesg train` input on disk, small enough for a CLI run in seconds: an MSRS-layout folder
 * (ir/*.png gray, vi/*.png RGB) of the synthetic pairs of ./model-fixtures.ts, its SIG cache written
 * through the cache API `tesg sig` uses, and a tiny model options file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { openSigCache, writeSigEntry } from '../../src/semantics/cache.js';
import { syntheticSample, TEXT_ID, TINY } from './model-fixtures.js';

export interface TrainFolder {
  data: string;
  sig: string;
  /** JSON options file with the tiny model config (--config). */
  config: string;
}

/**
 * `n` pairs of w x h under `root` (data/, sig/, tiny.json). `black` lists pair indices whose IR and VI
 * are all 0 (a lens-cap frame).
 */
export async function writeTrainFolder(root: string, n: number, w: number, h: number, black: number[] = []): Promise<TrainFolder> {
  const data = path.join(root, 'data');
  const sig = path.join(root, 'sig');
  for (const d of ['ir', 'vi']) mkdirSync(path.join(data, d), { recursive: true });
  await openSigCache(sig, { textEncoderId: TEXT_ID, tokens: 77, dim: 64, captioner: 'test-fixture', masker: 'test-fixture' });
  for (let i = 0; i < n; i++) {
    const s = syntheticSample(w, h, i + 1);
    if (black.includes(i)) {
      s.ir.fill(0);
      s.vi.fill(0);
    }
    const stem = `p${i}`;
    await sharp(s.ir, { raw: { width: w, height: h, channels: 1 } }).png().toFile(path.join(data, 'ir', `${stem}.png`));
    await sharp(s.vi, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(data, 'vi', `${stem}.png`));
    const m = s.sig.mask;
    await writeSigEntry(
      sig,
      stem,
      { caption: 'a person', captionWithout: 'a', keywords: ['person'], maskVis: m, maskIr: m, mask: m, embedding: s.sig.embedding, textEncoderId: TEXT_ID },
      77,
      64,
      { captionSource: 'user', keywordSource: 'user' },
    );
  }
  const config = path.join(root, 'tiny.json');
  writeFileSync(config, JSON.stringify(TINY));
  return { data, sig, config };
}
