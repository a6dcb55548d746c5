import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { fusionMethodNames, getFusionMethod, registerFusionMethod } from '../fusion/index.js';
import { defaultFuseMethod, TesgFusion, weightsFileOf } from '../fusion/tesg-method.js';
import { modelDigest } from '../fusion/model-digest.js';
import { DEFAULT_STRETCH, STRETCH_MODES, type Stretch16 } from '../image/depth16.js';
import { refuseProtected } from '../image/write.js';
import type { SigProviders } from '../semantics/sig.js';
import { createProgress } from '../util/progress.js';
import { fuseVideoChunk } from './chunk.js';
import { DEFAULT_ENCODE, X264_PRESETS, type EncodeSettings } from './encode.js';
import type { Rational } from './ffmpeg.js';
import { finishVideo } from './finish.js';
import { flickerRatio } from './flicker.js';
import { pairFrames, type SyncMode } from './pairing.js';
import {
  DEFAULT_CHUNK_FRAMES, PLAN_VERSION, chunkCount, chunkRange, completedChunks, outputKind, planDifferences, planFile, readPlan, workDirFor, writePlan,
  type VideoPlan,
} from './plan.js';
import { probeSource } from './probe.js';
import { DEFAULT_TEMPORAL, type TemporalSettings } from './temporal-sig.js';

/**
 * `tesg fuse-video` as library functions: planVideo (probe, pair, check, write the work dir's plan),
 * then every chunk (./chunk.ts), then finishVideo (./finish.ts); fuseVideo does all three with a
 * progress line (frames/s, ETA). A run that stopped leaves its work dir; `resume` continues it from the
 * chunks already complete.
 */
export interface FuseVideoOptions {
  /** Registered method (default: tesg with the shipped weights, else DEFAULT_FUSION_METHOD). */
  method?: string;
  /** The method's settings (tesg: weights, backend, threads, tile). */
  params?: Record<string, string | number | boolean | string[]>;
  gray?: boolean;
  stretch?: Stretch16;
  sync?: SyncMode;
  /** Frame rate of image-sequence inputs (default: the other input's, or 25). */
  sequenceFps?: Rational;
  chunkFrames?: number;
  /** Continue the run whose work dir exists (default: refuse to touch it). */
  resume?: boolean;
  /** Temporal SIG: key frame every k, mask window w, caption vote c (default DEFAULT_TEMPORAL; PER_FRAME = all 1). */
  temporal?: TemporalSettings;
  /** User caption T and keywords V* (as tesg fuse --caption/--keyword). */
  caption?: string;
  keywords?: string[];
  encode?: Partial<EncodeSettings>;
  progressTty?: boolean;
  onWarning?: (message: string) => void;
  providers?: SigProviders;
}

export interface FuseVideoReport {
  output: string;
  frames: number;
  width: number;
  height: number;
  fps: Rational;
  method: string;
  temporal: VideoPlan['temporal'];
  chunks: number;
  /** Chunks found complete from an earlier run. */
  resumedChunks: number;
  /** Frames fused by this call, and the rate (fusion + decode + encode, frames per second). */
  fusedFrames: number;
  seconds: number;
  framesPerSecond: number;
  /** Added flicker (./flicker.ts) over consecutive frames within chunks; NaN for a static video. */
  flicker: number;
}

/** The method `tesg fuse` uses without --method: the network when its weights ship, else the classic default. */
export function defaultVideoMethod(): string {
  return defaultFuseMethod();
}

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${what} must be a positive integer, got ${v}`);
  return v;
}

function checkEncode(e: EncodeSettings): EncodeSettings {
  if (!Number.isInteger(e.crf) || e.crf < 0 || e.crf > 51) throw new UsageError(`--crf must be an integer 0..51, got ${e.crf}`);
  if (!X264_PRESETS.includes(e.preset)) throw new UsageError(`--preset must be one of ${X264_PRESETS.join(', ')}, got '${e.preset}'`);
  if (e.pixFmt !== 'yuv420p' && e.pixFmt !== 'yuv444p') throw new UsageError(`--pix-fmt must be yuv420p or yuv444p, got '${String(e.pixFmt)}'`);
  return e;
}

/**
 * Probe and pair the inputs, check every setting, and create the work dir with its plan.json (or, with
 * `resume`, check that the existing plan has the same settings). Nothing is fused yet; the plan's
 * chunks can be fused here (fuseVideo) or by queue workers (./chunk.ts).
 */
export async function planVideo(irPath: string, viPath: string, out: string, opts: FuseVideoOptions = {}): Promise<VideoPlan> {
  const kind = await outputKind(out);
  const output = path.resolve(out);
  const stretch = opts.stretch ?? DEFAULT_STRETCH;
  if (!STRETCH_MODES.includes(stretch)) throw new UsageError(`unknown stretch '${stretch}'; expected one of ${STRETCH_MODES.join(', ')}`);
  const chunkFrames = positiveInt(opts.chunkFrames ?? DEFAULT_CHUNK_FRAMES, '--chunk');
  const t = opts.temporal ?? DEFAULT_TEMPORAL;
  positiveInt(t.keyEvery, '--key-every');
  if (positiveInt(t.window, '--mask-window') % 2 === 0) throw new UsageError(`--mask-window must be odd (a window centred on the frame), got ${t.window}`);
  if (positiveInt(t.captionVote, '--caption-vote') % 2 === 0) throw new UsageError(`--caption-vote must be odd (key frames centred on the block's own), got ${t.captionVote}`);
  const encode = checkEncode({ ...DEFAULT_ENCODE, ...opts.encode });
  const methodName = opts.method ?? defaultVideoMethod();
  if (methodName === 'tesg' && !fusionMethodNames().includes('tesg')) registerFusionMethod(new TesgFusion());
  const method = getFusionMethod(methodName);

  const [ir, vi] = await Promise.all([probeSource(irPath), probeSource(viPath)]);
  const pairing = pairFrames(ir, vi, { sync: opts.sync, sequenceFps: opts.sequenceFps });
  if (kind === 'dir') {
    for (const [name, p] of [['IR', irPath], ['VI', viPath]] as const) {
      if (path.resolve(p) === output) throw new UsageError(`the output folder ${out} is the ${name} input; choose another -o`);
    }
    const entries = await fs.readdir(output).catch(() => [] as string[]);
    if (entries.length > 0) throw new UsageError(`${out}: the folder exists and is not empty; choose a new or empty folder (the frames are moved in as a whole at the end)`);
  } else {
    await refuseProtected(output, [irPath, viPath]);
    if (encode.pixFmt === 'yuv420p' && (ir.width % 2 === 1 || ir.height % 2 === 1)) {
      throw new UsageError(`H.264 yuv420p needs an even width and height, the video is ${ir.width}x${ir.height}; pass --pix-fmt yuv444p, or -o DIR/ for PNG frames`);
    }
  }
  const keywords = opts.keywords?.length ? opts.keywords : undefined;
  // Absolute, so a chunk job finds the weights from any working folder.
  const params = typeof opts.params?.weights === 'string' ? { ...opts.params, weights: path.resolve(opts.params.weights) } : (opts.params ?? {});
  const plan: VideoPlan = {
    version: PLAN_VERSION,
    ir, vi, pairing, output, kind,
    workDir: workDirFor(output),
    chunkFrames,
    method: methodName,
    params,
    model: await modelDigest(methodName, params),
    gray: Boolean(opts.gray),
    stretch,
    temporal: method.usesSig ? { keyEvery: t.keyEvery, window: t.window, captionVote: t.captionVote, ...(opts.caption !== undefined ? { caption: opts.caption } : {}), ...(keywords ? { keywords } : {}) } : null,
    encode,
  };
  const hasPlan = await fs.stat(planFile(plan.workDir)).then(() => true, () => false);
  if (hasPlan) {
    const old = await readPlan(plan.workDir);
    const done = (await completedChunks(old)).length;
    if (!opts.resume) {
      throw new UsageError(`${plan.workDir} holds an interrupted run of this output (${done} of ${chunkCount(old)} chunks done); pass --resume to continue it, or delete that folder to start over`);
    }
    const diff = planDifferences(old, plan);
    if (diff.length === 1 && diff[0] === 'model') {
      throw new UsageError(`cannot resume: the weights at ${weightsFileOf(plan.params)} (and the .onnx beside them) are not those the run in ${plan.workDir} was started with; put those back, or delete that folder to start over`);
    }
    if (diff.length > 0) {
      throw new UsageError(`cannot resume: the run in ${plan.workDir} was made with other ${diff.join(', ')}; use the same inputs and options, or delete that folder to start over`);
    }
    return old;
  }
  await fs.mkdir(plan.workDir, { recursive: true });
  await writePlan(plan);
  return plan;
}

/** Plan (or resume), fuse every chunk not yet done with a progress line, and join the output. */
export async function fuseVideo(irPath: string, viPath: string, out: string, opts: FuseVideoOptions = {}): Promise<FuseVideoReport> {
  const plan = await planVideo(irPath, viPath, out, opts);
  const n = chunkCount(plan);
  const done = new Set(await completedChunks(plan));
  const todo = [...Array(n).keys()].filter((i) => !done.has(i));
  const todoFrames = todo.reduce((s, i) => s + chunkRange(plan, i).end - chunkRange(plan, i).start, 0);
  const t0 = performance.now();
  if (todo.length > 0) {
    const progress = createProgress({ label: 'fuse-video', total: todoFrames, tty: opts.progressTty });
    try {
      for (const i of todo) {
        await fuseVideoChunk(plan, i, { providers: opts.providers, onWarning: opts.onWarning, onFrame: () => progress.tick(1, `chunk ${i + 1}/${n}`) });
      }
    } catch (err) {
      // Nothing complete to resume from: leave no work dir, so a rerun after a fix needs no --resume.
      if ((await completedChunks(plan)).length === 0) await fs.rm(plan.workDir, { recursive: true, force: true });
      throw err;
    } finally {
      progress.done();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const finished = await finishVideo(plan);
  return {
    output: plan.output,
    frames: plan.pairing.frames,
    width: plan.ir.width,
    height: plan.ir.height,
    fps: plan.pairing.fps,
    method: plan.method,
    temporal: plan.temporal,
    chunks: n,
    resumedChunks: done.size,
    fusedFrames: todoFrames,
    seconds,
    framesPerSecond: seconds > 0 ? todoFrames / seconds : 0,
    flicker: flickerRatio(finished.flicker),
  };
}
