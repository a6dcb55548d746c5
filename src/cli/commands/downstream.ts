import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { ClassMapName } from '../../downstream/classes.js';
import { DEFAULT_DETECTION_OPTIONS, readLabelSet, runDetection, type DetectionMethod } from '../../downstream/detect.js';
import { pairedDetection, pairedDetectionMarkdown } from '../../downstream/paired.js';
import { MAX_RESAMPLES } from '../../eval/paired.js';
import { checkBootstrapFlags, num } from '../options.js';
import { detectionCaption, detectionMarkdown, writeDetectionReport } from '../../downstream/report.js';
import { torchUnavailableReason } from '../../runtime/torch.js';
import { DEFAULT_SEGMENT, readSegmentationResults, runSegmentation, writeSegmentationTable } from '../../downstream/segrun.js';
import { checkOutputPath } from '../../util/output-path.js';

/**
 * `tesg downstream detect|segment|seg-table`: the paper's Tables 2 and 3 for any set of image
 * folders. The work is in src/downstream/; this file parses options and prints.
 */
function parseMethod(value: string, previous: DetectionMethod[]): DetectionMethod[] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new UsageError(`--method expects NAME=DIR (e.g. --method TarDAL=peers/TarDAL), got '${value}'`);
  return [...previous, { name: value.slice(0, eq), dir: value.slice(eq + 1) }];
}

function parseSize(v: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 16 || Number(m[2]) < 16) throw new UsageError(`--size expects WxH with both >= 16, e.g. 160x120, got '${v}'`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

interface DetectCli {
  labels: string;
  method: DetectionMethod[];
  sources?: string;
  ir?: string;
  vi?: string;
  out: string;
  classMap: string;
  scoreThreshold: number;
  minScore: number;
  inputLong: number;
  baseline?: string;
  resamples: number;
  seed: number;
}

async function detect(o: DetectCli, cmd?: Command): Promise<void> {
  checkBootstrapFlags(cmd, o.baseline);
  const methods: DetectionMethod[] = [];
  let ir = o.ir, vi = o.vi;
  if (o.sources) {
    const parts = o.sources.split(',');
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new UsageError(`--sources expects IR_DIR,VI_DIR, got '${o.sources}'`);
    if (ir || vi) throw new UsageError('give either --sources IR_DIR,VI_DIR or --ir/--vi, not both');
    [ir, vi] = parts;
  }
  if (ir) methods.push({ name: 'IR', dir: ir });
  if (vi) methods.push({ name: 'VI', dir: vi });
  methods.push(...o.method);
  if (methods.length === 0) throw new UsageError('nothing to score: give --method NAME=DIR and/or --sources IR_DIR,VI_DIR');
  const names = methods.map((m) => m.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UsageError(`method name '${dup}' given twice; names must differ`);
  if (o.baseline !== undefined && !names.includes(o.baseline)) {
    const hint = (o.baseline === 'IR' || o.baseline === 'VI') && !names.includes('IR') ? ' (IR and VI need --sources or --ir/--vi)' : '';
    throw new UsageError(`--baseline '${o.baseline}' is not a method; give one of ${names.join(', ')}${hint}`);
  }
  if (o.baseline !== undefined && names.length < 2) throw new UsageError(`--baseline '${o.baseline}' needs at least one other method to compare with`);
  if (o.classMap !== 'merged' && o.classMap !== 'strict') throw new UsageError(`--class-map: expected merged or strict, got '${o.classMap}'`);
  const settings = {
    ...DEFAULT_DETECTION_OPTIONS,
    classMap: o.classMap as ClassMapName,
    scoreThreshold: o.scoreThreshold,
    minScore: o.minScore,
    inputLong: o.inputLong,
  };
  if (settings.minScore > settings.scoreThreshold) throw new UsageError(`--min-score (${settings.minScore}) must not exceed --score-threshold (${settings.scoreThreshold})`);
  checkOutputPath(o.out, 'folder', '--out takes a folder (created if missing) for detection.md, .csv and .json');
  const labels = await readLabelSet(o.labels);
  const rows = await runDetection({ ...settings, labelsDir: o.labels, labels, methods });
  const caption = detectionCaption(settings.classMap, settings.scoreThreshold, rows[0]?.images ?? 0);
  const score = { classCount: labels.classNames.length, scoreThreshold: settings.scoreThreshold };
  const paired = o.baseline === undefined ? undefined : pairedDetection(rows, labels.gt, o.baseline, score, { resamples: o.resamples, seed: o.seed });
  const files = await writeDetectionReport(o.out, rows, caption, { ...settings, labels: o.labels }, paired);
  process.stdout.write(`${caption}\n\n${detectionMarkdown(rows)}\n${paired ? `\n${pairedDetectionMarkdown(paired)}\n` : ''}`);
  process.stderr.write(`wall time: ${rows.map((r) => `${r.method} ${r.seconds.toFixed(1)} s`).join(', ')}; wrote ${files.join(', ')}\n`);
}

interface SegmentCli {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
  out: string;
  name?: string;
  steps: number;
  batch: number;
  size: { width: number; height: number };
  seed: number;
  lr: number;
  checkpointEvery: number;
  resume?: boolean;
  stopAfter?: number;
  table?: string;
  backend: string;
  threads: number;
}

async function segment(o: SegmentCli): Promise<void> {
  const name = o.name ?? path.basename(path.resolve(o.trainImages));
  if (!['auto', 'torch', 'wasm'].includes(o.backend)) throw new UsageError(`--backend must be auto, torch or wasm, got '${o.backend}'`);
  checkOutputPath(o.out, 'folder', '--out takes a run folder (created if missing) for checkpoint.bin, train-log.csv, result.json and segmentation.md');
  const torch = o.backend === 'torch' || (o.backend === 'auto' && torchUnavailableReason() === null);
  const result = await runSegmentation({
    name, trainImages: o.trainImages, trainLabels: o.trainLabels, testImages: o.testImages, testLabels: o.testLabels,
    outDir: o.out, steps: o.steps, batch: o.batch, ...o.size, seed: o.seed, lr: o.lr, checkpointEvery: o.checkpointEvery,
    resume: Boolean(o.resume), stopAfter: o.stopAfter, backend: torch ? 'torch' : 'tfjs', threads: o.threads,
  });
  if (!result) {
    process.stderr.write(`stopped at step ${o.stopAfter} of ${o.steps} (checkpoint in ${o.out}); continue with the same options and --resume\n`);
    return;
  }
  const { markdown, files } = await writeSegmentationTable(o.out, [result]);
  process.stdout.write(markdown);
  process.stderr.write(`trained ${result.settings.steps} steps in ${(result.trainSeconds / 60).toFixed(1)} min on ${result.backend}; wrote ${path.join(o.out, 'result.json')}, ${files.join(', ')}\n`);
}

async function segTable(dirs: string[], o: { out: string }): Promise<void> {
  checkOutputPath(o.out, 'folder', '--out takes a folder (created if missing) for segmentation.md, .csv and .json');
  const results = await readSegmentationResults(dirs);
  const { markdown, files } = await writeSegmentationTable(o.out, results);
  process.stdout.write(markdown);
  process.stderr.write(`wrote ${files.join(', ')}\n`);
}

export function register(program: Command): void {
  const ds = program.command('downstream').description("downstream tasks on fused images: detection (Table 2) and segmentation (Table 3)");
  ds.command('detect')
    .description('run a frozen COCO detector (CenterNet, from @vladmandic/human) on each folder and score against YOLO boxes')
    .requiredOption('--labels <dir>', 'YOLO label folder (class cx cy w h, normalised; classes.txt: person, bicycle, car)')
    .option('--method <name=dir>', 'a method name and its folder of images (repeat for more)', parseMethod, [])
    .option('--sources <ir,vi>', 'also score the IR and VI folders as rows')
    .option('--ir <dir>', 'IR folder as a row')
    .option('--vi <dir>', 'VI folder as a row')
    .option('--out <dir>', 'where detection.md, .csv and .json go', 'downstream-out')
    .option('--class-map <name>', 'merged (motorcycle->bicycle, bus/truck->car) or strict (person/bicycle/car only)', DEFAULT_DETECTION_OPTIONS.classMap)
    .option('--score-threshold <s>', 'score for precision/recall (the detector default)', num('--score-threshold', 0, 1), DEFAULT_DETECTION_OPTIONS.scoreThreshold)
    .option('--min-score <s>', 'lowest score kept for mAP', num('--min-score', 0.001, 1), DEFAULT_DETECTION_OPTIONS.minScore)
    .option('--input-long <px>', 'detector input long side (multiple of 32)', num('--input-long', 64, 4096, true), DEFAULT_DETECTION_OPTIONS.inputLong)
    .option('--baseline <name>', 'also compare every other method with this one: mAP difference and its 95 % bootstrap interval over the labelled images')
    .option('--resamples <n>', `bootstrap resamples for --baseline (1..${MAX_RESAMPLES})`, num('--resamples', 1, MAX_RESAMPLES, true), 1000)
    .option('--seed <n>', 'seed of those resamples', num('--seed', 0, 0xffffffff, true), 1)
    .action(detect);
  ds.command('segment')
    .description("train a small U-Net on one method's training images with the 9 MSRS classes and score IoU on test pairs")
    .requiredOption('--train-images <dir>', "training images of one method (e.g. msrs/train/vi or that method's fusions)")
    .requiredOption('--train-labels <dir>', 'label PNGs (class indices 0..8), paired by name stem')
    .requiredOption('--test-images <dir>', "the same method's test images")
    .requiredOption('--test-labels <dir>', 'test label PNGs')
    .requiredOption('--out <dir>', 'run folder: checkpoint.bin, train-log.csv, result.json, segmentation.md')
    .option('--name <name>', 'row name (default: the training folder name)')
    .option('--steps <n>', 'training steps; keep it equal across methods', num('--steps', 1, 1e7, true), DEFAULT_SEGMENT.steps)
    .option('--batch <n>', 'images per step', num('--batch', 1, 64, true), DEFAULT_SEGMENT.batch)
    .option('--size <WxH>', 'network resolution', parseSize, { width: DEFAULT_SEGMENT.width, height: DEFAULT_SEGMENT.height })
    .option('--seed <s>', 'seed for weights, batches and flips', num('--seed', 0, 2 ** 32 - 1, true), DEFAULT_SEGMENT.seed)
    .option('--lr <lr>', 'Adam learning rate (poly decay to 0)', num('--lr', 1e-6, 1), DEFAULT_SEGMENT.lr)
    .option('--checkpoint-every <n>', 'steps between checkpoints', num('--checkpoint-every', 1, 1e7, true), DEFAULT_SEGMENT.checkpointEvery)
    .option('--resume', 'continue the checkpoint in --out')
    .option('--stop-after <n>', 'stop (with a checkpoint) after this step; continue later with --resume', num('--stop-after', 1, 1e7, true))
    .option('--backend <name>', 'training backend: auto (libtorch when its addon is built, else wasm) | torch | wasm; a checkpoint moves between them', 'auto')
    .option('--threads <n>', 'libtorch threads (run two methods at once on two cores with 1 each)', num('--threads', 1, 256, true), 1)
    .action(segment);
  ds.command('seg-table')
    .description('collect the result.json of several segment runs into one Table-3-style table')
    .argument('<runs...>', 'run folders of `tesg downstream segment`')
    .option('--out <dir>', 'where segmentation.md, .csv and .json go', 'downstream-out')
    .action(segTable);
}
