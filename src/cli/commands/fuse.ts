import type { Command } from 'commander';
import { TesgError, UsageError } from '../../errors.js';
import { DEFAULT_FUSION_METHOD, fuseFiles, fuseFolders, fusionMethodNames, registerFusionMethod } from '../../fusion/index.js';
import { DEFAULT_STRETCH, STRETCH_MODES, type Stretch16 } from '../../image/depth16.js';
import { DEFAULT_JPEG_QUALITY } from '../../image/write.js';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_WEIGHTS_FILE, TesgFusion, builtinSigVersion, chooseBackend, defaultFuseMethod } from '../../fusion/tesg-method.js';
import { appendFuseManifest, checkResumeInto, fuseRunRecord, mergeFuseManifest, type FuseRunRecord } from '../../report/provenance.js';
import { markPhase } from '../../util/startup-trace.js';
import { checkOutputPath } from '../../util/output-path.js';

// The CLI entry registers it too (for every command's method list); a library import of this file alone still gets it.
if (!fusionMethodNames().includes('tesg')) registerFusionMethod(new TesgFusion());

/**
 * `tesg fuse IR VI -o OUT` (one pair) and `tesg fuse --ir DIR --vi DIR --out DIR` (folders paired by
 * name stem, resumable). The work is in src/fusion/files.ts; this file parses and reports.
 */
export interface FuseCliOptions {
  out?: string;
  ir?: string;
  vi?: string;
  method?: string;
  caption?: string;
  keyword: string[];
  stretch: string;
  gray?: boolean;
  quality: string;
  overwrite?: boolean;
  allowMissing?: boolean;
  weights?: string;
  backend?: string;
  threads?: string;
  tile?: string;
  sig?: string;
  sigVersion?: string;
}

/** Settings of the tesg method (src/fusion/tesg-method.ts); other methods ignore them. */
export function networkParams(o: Pick<FuseCliOptions, 'weights' | 'caption' | 'keyword' | 'backend' | 'sig' | 'sigVersion' | 'threads' | 'tile'>): Record<string, string | number | string[]> {
  const params: Record<string, string | number | string[]> = {};
  if (o.weights !== undefined) {
    if (/\.onnx$/i.test(o.weights)) throw new UsageError(`--weights takes the .safetensors file (${o.weights.replace(/\.onnx$/i, '.safetensors')}); the .onnx beside it is then run by ONNX Runtime`);
    params.weights = o.weights;
  }
  if (o.caption !== undefined) params.caption = o.caption;
  if (o.keyword.length > 0) params.keyword = o.keyword;
  if (o.backend !== undefined) params.backend = o.backend;
  if (o.sig !== undefined) params.sig = o.sig;
  if (o.sigVersion !== undefined) params.sigVersion = o.sigVersion;
  for (const key of ['threads', 'tile'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < (key === 'threads' ? 1 : 0)) throw new UsageError(`--${key} must be a${key === 'threads' ? ' positive' : 'n'} integer, got '${v}'`);
    params[key] = n;
  }
  return params;
}

/**
 * --sig-version checked before any work (fuse-video, queue add, add-video: otherwise every frame
 * chunk or queued job would fail on it). UsageError naming the versions; the SIG modules load only then.
 */
export async function checkSigVersionOption(v: string | undefined): Promise<void> {
  if (v !== undefined) (await import('../../semantics/sig.js')).parseSigVersion(v);
}

export function parseQuality(q: string): number {
  const n = Number(q);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new UsageError(`--quality must be an integer 1..100, got '${q}'`);
  return n;
}

/** ", SIG v2" etc.: which SIG the network ran with (the weights' record unless --sig-version or --sig says otherwise). */
async function sigNote(method: string, params: Record<string, unknown>): Promise<string> {
  if (method !== 'tesg') return '';
  if (typeof params.sig === 'string') return ', SIG from cache';
  return `, SIG ${await builtinSigVersion(params)}`;
}

async function runFuse(irArg: string | undefined, viArg: string | undefined, o: FuseCliOptions): Promise<void> {
  const pairMode = irArg !== undefined || viArg !== undefined;
  const folderMode = o.ir !== undefined || o.vi !== undefined;
  if (pairMode && folderMode) throw new UsageError('give either IR VI -o OUT (one pair) or --ir DIR --vi DIR --out DIR (folders), not both');
  if (!pairMode && !folderMode) throw new UsageError('nothing to fuse: give IR VI -o OUT, or --ir DIR --vi DIR --out DIR');
  const method = o.method ?? defaultFuseMethod();
  if (o.method === undefined && method !== 'tesg') {
    process.stderr.write(`tesg: note: no trained weights at ${DEFAULT_WEIGHTS_FILE}; fusing with the classic '${method}' baseline\n`);
  }
  const given = (['weights', 'sig', 'sigVersion', 'caption', 'backend'] as const).filter((k) => o[k] !== undefined);
  if (method !== 'tesg' && given.length > 0) {
    process.stderr.write(`tesg: note: --method ${method} is a classic baseline; ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} only apply to --method tesg and are ignored\n`);
  }
  const common = { method, stretch: o.stretch as Stretch16, gray: o.gray, quality: parseQuality(o.quality), params: networkParams(o) };
  if (pairMode) {
    if (irArg === undefined || viArg === undefined) throw new UsageError('give both images: tesg fuse IR VI -o OUT');
    if (!o.out) throw new UsageError('missing -o OUT (the fused image, .png or .jpg)');
    checkOutputPath(o.out, 'file', '-o takes the fused image\'s file name (.png or .jpg); for folders use --ir DIR --vi DIR --out DIR');
    const t0 = performance.now();
    const img = await fuseFiles(irArg, viArg, o.out, { ...common, onStage: (stage) => markPhase(stage === 'read' ? 'images-read' : stage) });
    const secs = ((performance.now() - t0) / 1000).toFixed(2);
    // which model: the weights file (relative to here), so the shipped models read differently
    const weightsPath = path.resolve(o.weights ?? DEFAULT_WEIGHTS_FILE);
    const rel = path.relative(process.cwd(), weightsPath);
    const model = method === 'tesg' ? `tesg ${rel.startsWith('..') ? weightsPath : rel}` : method;
    process.stdout.write(`wrote ${o.out} (${img.width}x${img.height} ${img.channels === 3 ? 'RGB' : 'gray'}, ${model}${await sigNote(method, common.params)}, ${secs} s)\n`);
    return;
  }
  if (!o.ir || !o.vi || !o.out) throw new UsageError('folder mode needs all of --ir DIR --vi DIR --out DIR');
  checkOutputPath(o.out, 'folder', '--out takes a folder (created if missing) for the fused <stem>.png files');
  // Provenance for `tesg eval --html` (tesg-fuse.json): which method, weights and SIG made this folder's
  // images. The run is recorded before its first pair, so a run cut short and resumed is still known,
  // and its counts are set at the end; a rerun with another model refuses to skip what is there.
  const weightsFile = method === 'tesg' ? (o.weights ?? DEFAULT_WEIGHTS_FILE) : undefined;
  const backend = weightsFile ? chooseBackend(weightsFile, o.backend) : undefined;
  let started: FuseRunRecord | undefined;
  let lastCount = performance.now();
  const recordCount = async (fused: number, skipped: number, finished: boolean) => {
    const begun = started!;
    const now = { ...begun, date: new Date().toISOString(), fused, skipped, finished };
    await mergeFuseManifest(o.out!, now, (r) => r.started === begun.started && r.command === begun.command, { counts: 'set' });
  };
  const report = await fuseFolders(o.ir, o.vi, o.out, {
    ...common,
    overwrite: o.overwrite,
    allowMissing: o.allowMissing,
    onFailure: (stem, message) => process.stderr.write(`tesg: failed ${stem}: ${message}\n`),
    beforeFusing: async ({ skipped, existing, todo }) => {
      const run = await fuseRunRecord({ method, params: common.params, weightsFile, backend, fused: 0, skipped: skipped.length });
      await checkResumeInto(o.out!, run, existing);
      if (todo === 0) return;
      await mkdir(o.out!, { recursive: true });
      started = { ...run, started: run.date, overwrite: o.overwrite === true, finished: false };
      await appendFuseManifest(o.out!, started);
    },
    // the count so far, at most once a second: a run killed midway still says how far it got
    afterPair: async (so) => {
      if (performance.now() - lastCount < 1000) return;
      await recordCount(so.fused.length, so.skipped.length, false);
      lastCount = performance.now();
    },
  });
  if (started) await recordCount(report.fused.length, report.skipped.length, true);
  const lone = Object.values(report.unmatched).flat();
  if (lone.length > 0) process.stderr.write(`tesg: skipped ${lone.length} file(s) without a partner: ${lone.join(', ')}\n`);
  process.stdout.write(`fused ${report.fused.length}, skipped ${report.skipped.length} existing, failed ${report.failed.length} -> ${o.out}\n`);
  if (report.failed.length > 0) {
    const first = report.failed[0];
    throw new TesgError(`${report.failed.length} of ${report.fused.length + report.failed.length} pairs failed (first: ${first.message}); the others were written, rerun to retry`);
  }
}

export function register(program: Command): void {
  program
    .command('fuse')
    .description('fuse an infrared and a visible image, or two folders of them paired by file name')
    .argument('[ir]', 'infrared image (PNG, JPEG, TIFF or BMP)')
    .argument('[vi]', 'visible image, same size')
    .option('-o, --out <path>', 'output: a .png/.jpg file for one pair, a folder for --ir/--vi (writes <stem>.png); missing folders are created')
    .option('--ir <dir>', 'folder of infrared images')
    .option('--vi <dir>', 'folder of visible images (paired with --ir by name stem; extensions may differ)')
    .option('-m, --method <name>', `fusion method: ${fusionMethodNames().join(', ')} (default: tesg with the shipped weights; ${DEFAULT_FUSION_METHOD} where there are none)`)
    .option('--caption <text>', 'tesg method: use this caption T instead of the SIG captioner')
    .option('--keyword <word>', 'tesg method: key object V* (repeatable), e.g. --keyword person', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--stretch <mode>', `16-bit to 8-bit mapping: ${STRETCH_MODES.join(', ')}`, DEFAULT_STRETCH)
    .option('--gray', 'write the fused gray image (default: colour it with the visible image\'s chroma)')
    .option('--quality <n>', 'JPEG quality 1..100', String(DEFAULT_JPEG_QUALITY))
    .option('--overwrite', 'folder mode: redo outputs that already exist. Without it they are skipped, so reruns resume, and a rerun with another method, weights or SIG than the folder\'s tesg-fuse.json records is refused')
    .option('--allow-missing', 'folder mode: fuse the complete pairs and list files without a partner, instead of failing')
    .option('--sig-version <v>', 'tesg method: built-in SIG v1 | v2 | v3 (default: the one the weights were trained with; v1 for tesg-v1)')
    .option('--sig <dir>', 'tesg method: read M and F_t from this SIG cache (`tesg sig --out DIR` on the same images) instead of running the SIG')
    .option('--weights <file>', 'tesg method: weights (.safetensors; the exported .onnx beside it is used when present)')
    .option('--backend <name>', 'tesg method: onnx or tfjs (default: onnx when <weights>.onnx exists)')
    .option('--threads <n>', 'tesg method: onnxruntime threads (default: all cores)')
    .option('--tile <px>', 'tesg method, onnx: tile size for large images, 0 = never (default: tile images above ~550k pixels, a 2 GB bound)')
    .action(async (ir: string | undefined, vi: string | undefined, opts: FuseCliOptions) => runFuse(ir, vi, opts));
}
