import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tf } from '../runtime/tfjs-node.cjs';
import { InputError } from '../errors.js';
import { ensureGradients } from '../model/tfjs.js';
import { initBackend } from '../runtime/backend.js';
import { writeFileAtomic } from '../util/atomic.js';
import { MSRS_SEGMENTATION_CLASSES } from './classes.js';
import { groupSegmentation, SEG_CAPTION, segmentationCsv, segmentationMarkdown, type SegmentationResult } from './report.js';
import { loadSegSet } from './segdata.js';
import { evaluateSegmentation } from './segeval.js';
import { DEFAULT_SEGNET, paramCount, type SegParams } from './segnet.js';
import { trainSegmentation, type SegBackend } from './segtrain.js';
import { loadTorch } from '../runtime/torch.js';

/**
 * `tesg downstream segment` end to end: read and resize the training pairs, train (resumable), score
 * on the test pairs, write <out>/result.json. Trains on libtorch (the native addon) or on tfjs-wasm
 * through the project's initBackend() (which registers the conv gradient kernels wasm lacks); scores
 * on tfjs-wasm. tfjs-cpu is not used: it is ~15x slower here and its ResizeBilinearGrad returns a
 * transposed shape for non-square inputs (tfjs 4.22).
 */
export interface SegmentRunOptions {
  name: string;
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
  outDir: string;
  steps: number;
  batch: number;
  width: number;
  height: number;
  seed: number;
  lr: number;
  checkpointEvery: number;
  resume: boolean;
  stopAfter?: number;
  quiet?: boolean;
  /** Training backend: tfjs (wasm) or torch (the native addon). Scoring always runs on tfjs-wasm. */
  backend: SegBackend;
  /** libtorch threads (torch backend). */
  threads?: number;
}

export const DEFAULT_SEGMENT = { steps: 3000, batch: 8, width: 160, height: 120, seed: 1, lr: 2e-3, checkpointEvery: 100 };

export async function runSegmentation(o: SegmentRunOptions): Promise<SegmentationResult | null> {
  const backend = await initBackend('wasm');
  await ensureGradients();
  const classes = MSRS_SEGMENTATION_CLASSES.length;
  const train = await loadSegSet({ imagesDir: o.trainImages, labelsDir: o.trainLabels, width: o.width, height: o.height, classes, resizeLabels: true, quiet: o.quiet });
  const net = DEFAULT_SEGNET;
  if (o.backend === 'torch') loadTorch().setNumThreads(o.threads ?? 1);
  const r = await trainSegmentation(train, {
    net, steps: o.steps, batch: o.batch, lr: o.lr, seed: o.seed, checkpointEvery: o.checkpointEvery, outDir: o.outDir,
    resume: o.resume, stopAfter: o.stopAfter, quiet: o.quiet, backend: o.backend, dataId: `${train.stems.length} images, first ${train.stems[0]}, last ${train.stems[train.stems.length - 1]}`,
  });
  let params: SegParams | null = null;
  try {
    if (r.steps < o.steps) return null; // stopped early on purpose: no scores yet
    params = await r.stepper.tfjsParams();
    const test = await loadSegSet({ imagesDir: o.testImages, labelsDir: o.testLabels, width: o.width, height: o.height, classes, resizeLabels: false, quiet: o.quiet });
    const t0 = Date.now();
    const s = await evaluateSegmentation(params, net, test, o.quiet);
    const result: SegmentationResult = {
      method: o.name,
      trainImages: o.trainImages,
      testImages: o.testImages,
      backend: o.backend === 'torch' ? `libtorch ${loadTorch().torchVersion}, ${o.threads ?? 1} thread(s)` : `tfjs-${backend.backend}${backend.simd ? ' (SIMD)' : ''}, ${backend.threads} thread`,
      params: paramCount(params),
      settings: { steps: o.steps, batch: o.batch, lr: o.lr, seed: o.seed, width: o.width, height: o.height },
      trainSeconds: r.seconds,
      evalSeconds: (Date.now() - t0) / 1000,
      finalLoss: r.log.length ? r.log[r.log.length - 1][1] : NaN,
      iou: s.iou.map((v) => (v === null ? null : 100 * v)),
      miou: 100 * s.miou,
      pixelAccuracy: s.pixelAccuracy,
      confusion: s.confusion,
    };
    await writeFileAtomic(path.join(o.outDir, 'result.json'), JSON.stringify(result, null, 1) + '\n');
    return result;
  } finally {
    r.stepper.dispose();
    if (params) tf.dispose([...params.values()]);
  }
}

/** Read result.json from each run folder (Table 3 rows, in the order given). */
export async function readSegmentationResults(dirs: string[]): Promise<SegmentationResult[]> {
  const out: SegmentationResult[] = [];
  for (const d of dirs) {
    const f = path.join(d, 'result.json');
    let text: string;
    try {
      text = await fs.readFile(f, 'utf8');
    } catch {
      throw new InputError(f, 'missing; run `tesg downstream segment --out ' + d + '` to completion first');
    }
    try {
      out.push(JSON.parse(text) as SegmentationResult);
    } catch {
      throw new InputError(f, 'not valid JSON; rerun the segment command with --resume to rewrite it');
    }
  }
  return out;
}

export async function writeSegmentationTable(outDir: string, results: SegmentationResult[]): Promise<{ markdown: string; files: string[] }> {
  // The budget is everything but the seed: seeds may differ (several runs of a method are averaged).
  const budget = [...new Set(results.map((r) => `${r.settings.steps} steps x batch ${r.settings.batch} at ${r.settings.width}x${r.settings.height}, lr ${r.settings.lr}`))];
  const seeds = [...new Set(results.map((r) => r.settings.seed))].sort((a, b) => a - b);
  const note = budget.length === 1
    ? `Budget: ${budget[0]}; seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')}.`
    : `WARNING: rows used different budgets (${budget.join('; ')}): not a fair comparison.`;
  const groups = groupSegmentation(results);
  const perSeed = groups.some((g) => g.runs.length > 1)
    ? `\nmIoU per run: ${groups.map((g) => `${g.method} ${g.runs.map((r) => `${r.miou.toFixed(2)} (seed ${r.settings.seed})`).join(', ')}`).join('; ')}\n`
    : '';
  const wall = groups.map((g) => `${g.method} ${g.runs.map((r) => (r.trainSeconds / 60).toFixed(1)).join(' / ')} min`).join(', ');
  const backends = [...new Set(results.map((r) => r.backend))].join('; ');
  const markdown = `${SEG_CAPTION} ${note}\n\n${segmentationMarkdown(results)}\n${perSeed}\nTraining wall time per run: ${wall} (${backends})\n`;
  const files = ['segmentation.md', 'segmentation.csv', 'segmentation.json'].map((f) => path.join(outDir, f));
  await writeFileAtomic(files[0], markdown);
  await writeFileAtomic(files[1], segmentationCsv(results));
  await writeFileAtomic(files[2], JSON.stringify({ caption: SEG_CAPTION, classes: MSRS_SEGMENTATION_CLASSES, rows: results }, null, 1) + '\n');
  return { markdown, files };
}
