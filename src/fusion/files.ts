import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError, MismatchError, TesgError, UsageError } from '../errors.js';
import { DEFAULT_STRETCH, STRETCH_MODES, type Stretch16 } from '../image/depth16.js';
import { assertSameSize, readImage } from '../image/read.js';
import type { Image8 } from '../image/types.js';
import { WRITABLE_EXTENSIONS, refuseProtected, writeImage } from '../image/write.js';
import { countUnmatched, describeUnmatched, pairByStem } from '../util/pairing.js';
import { createProgress } from '../util/progress.js';
import { DEFAULT_FUSION_METHOD, getFusionMethod, type FuseOptions, type FusionMethod } from './registry.js';

/**
 * Fusing files and folders of files: what `tesg fuse` does, as library functions. Reads with the
 * format handling of src/image/read.ts, checks sizes, never writes onto an input, writes atomically;
 * folder runs are resumable (an output that exists is complete, since writes are atomic).
 */
export interface FuseFilesOptions extends FuseOptions {
  /** Registered method name (default DEFAULT_FUSION_METHOD). */
  method?: string;
  /** 16-bit to 8-bit mapping for 16-bit inputs. */
  stretch?: Stretch16;
  /** JPEG quality for .jpg outputs. */
  quality?: number;
  /** Called as the pair passes each stage (the queue worker reports it as job progress). */
  onStage?: (stage: FuseStage) => void;
}

/** Stages of one pair in fuseFiles: inputs read and checked, fused, output written. */
export type FuseStage = 'read' | 'fused' | 'written';

export interface FuseFoldersOptions extends FuseFilesOptions {
  /** Redo pairs whose output exists (default: skip them, which makes reruns resume). */
  overwrite?: boolean;
  /** Fuse the matched pairs even if some files have no partner (default: fail listing them). */
  allowMissing?: boolean;
  /** Called once per failed pair, e.g. to print it as it happens. */
  onFailure?: (stem: string, message: string) => void;
  /** Progress display; default: createProgress on stderr. */
  progressTty?: boolean;
  /**
   * Called once the pairs are planned, before any is fused: the stems skipped because their output
   * exists, those outputs' paths, and how many pairs will be fused. Throwing stops the run with nothing written (the CLI
   * refuses here to resume into a folder another model made, and records the run's start).
   */
  beforeFusing?: (plan: { skipped: readonly string[]; existing: readonly string[]; todo: number }) => Promise<void>;
  /** Called after each pair (fused or failed) with the report so far, before the next begins. */
  afterPair?: (report: Readonly<FuseFoldersReport>) => Promise<void>;
}

export interface FuseFoldersReport {
  fused: string[];
  /** Stems skipped because their output already existed. */
  skipped: string[];
  failed: Array<{ stem: string; message: string }>;
  /** Files without a partner (only non-empty with allowMissing). */
  unmatched: Record<string, string[]>;
}

function resolveOptions(opts: FuseFilesOptions): { method: FusionMethod; stretch: Stretch16 } {
  const stretch = opts.stretch ?? DEFAULT_STRETCH;
  if (!STRETCH_MODES.includes(stretch)) throw new UsageError(`unknown stretch '${stretch}'; expected one of ${STRETCH_MODES.join(', ')}`);
  return { method: getFusionMethod(opts.method ?? DEFAULT_FUSION_METHOD), stretch };
}

function checkOutputName(out: string): void {
  const ext = path.extname(out).toLowerCase();
  if (!WRITABLE_EXTENSIONS.includes(ext)) throw new UsageError(`${out}: cannot write '${ext || 'no extension'}'; name the output .png, .jpg or .jpeg`);
}

/** Fuse one pair of files into `outPath` (PNG or JPEG by extension). Returns the fused image. */
export async function fuseFiles(irPath: string, viPath: string, outPath: string, opts: FuseFilesOptions = {}): Promise<Image8> {
  const { method, stretch } = resolveOptions(opts);
  checkOutputName(outPath);
  // Refuse before the (possibly slow) fusion, and again inside writeImage right before writing.
  await refuseProtected(outPath, [irPath, viPath]);
  const [ir, vi] = await Promise.all([readImage(irPath, { stretch }), readImage(viPath, { stretch })]);
  assertSameSize(ir, irPath, vi, viPath);
  opts.onStage?.('read');
  const fused = await method.fuse(ir, vi, { gray: opts.gray, params: opts.params, stem: path.parse(irPath).name, sources: { ir: irPath, vi: viPath } });
  opts.onStage?.('fused');
  await writeImage(outPath, fused, { protect: [irPath, viPath], quality: opts.quality });
  opts.onStage?.('written');
  return fused;
}

async function sameFolder(a: string, b: string): Promise<boolean> {
  const real = (p: string) => fs.realpath(p).catch(() => path.resolve(p));
  return (await real(a)) === (await real(b));
}

/** One pair of a folder run: its files and where its output goes (outDir/<stem>.png). */
export interface FolderPair {
  stem: string;
  ir: string;
  vi: string;
  out: string;
  /** The output file exists already. */
  exists: boolean;
}

/**
 * The pairs a folder run fuses, before any fusion: checks the options, that the output folder is not
 * an input folder, pairs by name stem (a file without a partner is an error unless allowMissing).
 * fuseFolders and the queue (src/queue/enqueue.ts) both start here, so they fuse the same pairs into
 * the same output names.
 */
export async function planFolderPairs(
  irDir: string,
  viDir: string,
  outDir: string,
  opts: FuseFilesOptions & { allowMissing?: boolean } = {},
): Promise<{ pairs: FolderPair[]; unmatched: Record<string, string[]> }> {
  resolveOptions(opts);
  for (const [name, dir] of [['IR', irDir], ['VI', viDir]] as const) {
    if (await sameFolder(outDir, dir)) throw new UsageError(`the output folder ${outDir} is the ${name} input folder; choose another --out`);
  }
  const { matched, unmatched } = await pairByStem({ ir: irDir, vi: viDir });
  for (const [key, flag, dir] of [['ir', '--ir', irDir], ['vi', '--vi', viDir]] as const) {
    // an empty side would otherwise read as "N files without a partner" from the other side
    if (matched.length === 0 && !unmatched[key]?.length) throw new InputError(dir, `no images here (png jpg jpeg bmp tif tiff); give the ${flag} folder that holds them`);
  }
  const lone = countUnmatched(unmatched);
  if (lone > 0 && !opts.allowMissing) {
    throw new MismatchError(`${lone} file(s) without a partner of the same name stem (${describeUnmatched(unmatched)}); add or rename them, or pass --allow-missing to fuse the rest`);
  }
  if (matched.length === 0) throw new InputError(irDir, `no image pairs with ${viDir} (expected files with the same name stem in both; extensions png jpg jpeg bmp tif tiff)`);
  const pairs: FolderPair[] = [];
  for (const item of matched) {
    const out = path.join(outDir, `${item.stem}.png`);
    const exists = await fs.stat(out).then(() => true, () => false);
    pairs.push({ stem: item.stem, ir: item.files.ir, vi: item.files.vi, out, exists });
  }
  return { pairs, unmatched };
}

/** Fuse every IR/VI pair matched by name stem into outDir/<stem>.png. */
export async function fuseFolders(irDir: string, viDir: string, outDir: string, opts: FuseFoldersOptions = {}): Promise<FuseFoldersReport> {
  const { pairs, unmatched } = await planFolderPairs(irDir, viDir, outDir, opts);
  const report: FuseFoldersReport = { fused: [], skipped: [], failed: [], unmatched };
  const todo = [];
  const existing: string[] = [];
  for (const item of pairs) {
    if (item.exists && !opts.overwrite) {
      report.skipped.push(item.stem);
      existing.push(item.out);
    } else {
      todo.push(item);
    }
  }
  await opts.beforeFusing?.({ skipped: report.skipped, existing, todo: todo.length });
  if (todo.length === 0) return report;
  const progress = createProgress({ label: 'fuse', total: todo.length, tty: opts.progressTty });
  for (const item of todo) {
    try {
      await fuseFiles(item.ir, item.vi, item.out, opts);
      report.fused.push(item.stem);
    } catch (err) {
      if (!(err instanceof TesgError)) throw err;
      report.failed.push({ stem: item.stem, message: err.message });
      opts.onFailure?.(item.stem, err.message);
    }
    progress.tick(1, item.stem);
    await opts.afterPair?.(report);
  }
  progress.done();
  return report;
}
