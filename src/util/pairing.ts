import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError, MismatchError } from '../errors.js';

/**
 * Pairing images across folders by file-name stem ("00103D.png" in ir/ with "00103D.jpg" in vi/):
 * datasets re-encode one modality, so extensions may differ. Hidden files (incl. our own atomic-write
 * temp files) and non-image files are ignored.
 */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff'];

export interface PairedItem {
  stem: string;
  /** Folder name -> file path, one per folder. */
  files: Record<string, string>;
}

export interface Pairing {
  /** Stems found in every folder, sorted, with their files. */
  matched: PairedItem[];
  /** Folder name -> file names (not paths) whose stem is missing from at least one other folder. */
  unmatched: Record<string, string[]>;
}

export function isImageFile(name: string): boolean {
  return !name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

export function fileStem(name: string): string {
  return path.basename(name, path.extname(name));
}

/** Image files of one folder by stem; two files with one stem (a.png, a.jpg) are ambiguous: an error. */
export async function imagesByStem(dir: string): Promise<Map<string, string>> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(dir, 'no such folder; check the path');
    if (code === 'ENOTDIR') throw new InputError(dir, 'is a file, expected a folder of images');
    throw new InputError(dir, `cannot list the folder (${code ?? (err as Error).message})`);
  }
  const byStem = new Map<string, string>();
  for (const e of entries) {
    if (!isImageFile(e.name) || e.isDirectory()) continue;
    const stem = fileStem(e.name);
    const prev = byStem.get(stem);
    if (prev) throw new MismatchError(`${dir}: two images share the name stem '${stem}' (${path.basename(prev)}, ${e.name}); keep one`);
    byStem.set(stem, path.join(dir, e.name));
  }
  return byStem;
}

/** Match stems across named folders, e.g. pairByStem({ ir: 'data/ir', vi: 'data/vi' }). */
export async function pairByStem(folders: Record<string, string>): Promise<Pairing> {
  const names = Object.keys(folders);
  const maps = await Promise.all(names.map((n) => imagesByStem(folders[n])));
  const inAll = (stem: string) => maps.every((m) => m.has(stem));
  const stems = new Set(maps.flatMap((m) => [...m.keys()]));
  const matched: PairedItem[] = [...stems]
    .filter(inAll)
    .sort()
    .map((stem) => ({ stem, files: Object.fromEntries(names.map((n, i) => [n, maps[i].get(stem) as string])) }));
  const unmatched: Record<string, string[]> = {};
  names.forEach((n, i) => {
    const lone = [...maps[i].entries()].filter(([stem]) => !inAll(stem)).map(([, f]) => path.basename(f)).sort();
    if (lone.length > 0) unmatched[n] = lone;
  });
  return { matched, unmatched };
}

/** One line for errors: "ir: a.png, b.png; vi: c.jpg" (at most `max` names per folder). */
export function describeUnmatched(unmatched: Record<string, string[]>, max = 10): string {
  return Object.entries(unmatched)
    .map(([n, files]) => `${n}: ${files.slice(0, max).join(', ')}${files.length > max ? ` and ${files.length - max} more` : ''}`)
    .join('; ');
}

export function countUnmatched(unmatched: Record<string, string[]>): number {
  return Object.values(unmatched).reduce((s, f) => s + f.length, 0);
}

export interface DerivedPairing extends Pairing {
  /**
   * Derived folder name -> stems every source folder has but this folder lacks (sorted). Such stems
   * are not in `matched`, and their source files are not in `unmatched`: the gap is the derived
   * folder's ("the fused folder A=out/a lacks p2"), not a source file's missing partner.
   */
  lacking: Record<string, string[]>;
}

/**
 * pairByStem for source folders plus folders made from them (eval: IR and VI, then one fused folder
 * per method). `matched`: stems present in every folder. `unmatched`: source files whose stem another
 * source lacks, and derived files whose stem is not in every source. `lacking`: see DerivedPairing.
 * Folder names must be unique across both records.
 */
export async function pairWithDerived(sources: Record<string, string>, derived: Record<string, string>): Promise<DerivedPairing> {
  const sourceNames = Object.keys(sources);
  const names = [...sourceNames, ...Object.keys(derived)];
  const dirs = { ...sources, ...derived };
  const maps = new Map(await Promise.all(names.map(async (n) => [n, await imagesByStem(dirs[n])] as const)));
  const inSources = (stem: string) => sourceNames.every((n) => maps.get(n)!.has(stem));
  const sourceStems = [...maps.get(sourceNames[0])?.keys() ?? []].filter(inSources).sort();
  const matched: PairedItem[] = sourceStems
    .filter((stem) => names.every((n) => maps.get(n)!.has(stem)))
    .map((stem) => ({ stem, files: Object.fromEntries(names.map((n) => [n, maps.get(n)!.get(stem) as string])) }));
  const unmatched: Record<string, string[]> = {};
  const lacking: Record<string, string[]> = {};
  for (const n of names) {
    const lone = [...maps.get(n)!.entries()].filter(([stem]) => !inSources(stem)).map(([, f]) => path.basename(f)).sort();
    if (lone.length > 0) unmatched[n] = lone;
    if (n in derived) {
      const gaps = sourceStems.filter((stem) => !maps.get(n)!.has(stem));
      if (gaps.length > 0) lacking[n] = gaps;
    }
  }
  return { matched, unmatched, lacking };
}
