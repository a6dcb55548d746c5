import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TesgError, UsageError } from '../errors.js';
import type { Stretch16 } from '../image/depth16.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { EncodeSettings } from './encode.js';
import type { Pairing } from './pairing.js';
import type { SourceInfo } from './probe.js';
import type { FrameRange, TemporalSigOptions } from './temporal-sig.js';

/**
 * A video fusion as data: everything a chunk needs, stored as `plan.json` in the work dir beside the
 * output (`<OUT>.tesg-work/`). The output is made of chunks of `chunkFrames` frames, each fused and
 * encoded to its own segment in the work dir (`chunk-000003.ts`, or the folder `chunk-000003/` of PNG
 * frames for `-o DIR/`), written under a temp name and renamed when complete, so a segment that exists
 * is complete. `--resume` skips those; the end joins them (./finish.ts). Any process that can read the
 * inputs and the work dir at the same paths can fuse any chunk (the queue's 'video-chunk' jobs).
 */
export type OutputKind = 'mp4' | 'mkv' | 'dir';

/** 2: plans record the model files' digest (`model`). */
export const PLAN_VERSION = 2;
export const DEFAULT_CHUNK_FRAMES = 120;

export interface VideoPlan {
  version: typeof PLAN_VERSION;
  ir: SourceInfo;
  vi: SourceInfo;
  pairing: Pairing;
  /** Absolute output path (a file, or the folder of PNG frames). */
  output: string;
  kind: OutputKind;
  /** Absolute work dir: plan.json and the segments. */
  workDir: string;
  chunkFrames: number;
  /** Registered fusion method and its params (as FuseOptions.params). */
  method: string;
  params: Record<string, string | number | boolean | string[]>;
  /**
   * The model files' digest (src/fusion/model-digest.ts; '' for classic methods): --resume after the
   * weights at params.weights (or the default) changed is refused, so no video mixes two models.
   */
  model: string;
  gray: boolean;
  stretch: Stretch16;
  /** The temporal SIG's settings; null when the method is not SIG-guided. */
  temporal: TemporalSigOptions | null;
  /** For mp4/mkv outputs. */
  encode: EncodeSettings;
}

/** `-o` names a folder of PNG frames when it ends with a slash or is an existing folder; else .mp4/.mkv. */
export async function outputKind(out: string): Promise<OutputKind> {
  if (/[\\/]$/.test(out)) return 'dir';
  const st = await fs.stat(out).catch(() => null);
  if (st?.isDirectory()) return 'dir';
  const ext = path.extname(out).toLowerCase();
  if (ext === '.mp4') return 'mp4';
  if (ext === '.mkv') return 'mkv';
  throw new UsageError(`${out}: cannot write '${ext || 'no extension'}'; name the output .mp4 or .mkv, or end it with / for a folder of PNG frames`);
}

export function workDirFor(output: string): string {
  return path.resolve(output).replace(/[\\/]+$/, '') + '.tesg-work';
}

export function chunkCount(plan: Pick<VideoPlan, 'pairing' | 'chunkFrames'>): number {
  return Math.ceil(plan.pairing.frames / plan.chunkFrames);
}

export function chunkRange(plan: Pick<VideoPlan, 'pairing' | 'chunkFrames'>, index: number): FrameRange {
  const total = plan.pairing.frames;
  if (!Number.isInteger(index) || index < 0 || index >= chunkCount(plan)) throw new RangeError(`chunk ${index} out of range 0..${chunkCount(plan) - 1}`);
  return { start: index * plan.chunkFrames, end: Math.min(total, (index + 1) * plan.chunkFrames), total };
}

const pad = (n: number, width = 6) => String(n).padStart(width, '0');

/** The finished segment of chunk `index`: an MPEG-TS file, or a folder of PNG frames. */
export function segmentPath(plan: Pick<VideoPlan, 'workDir' | 'kind'>, index: number): string {
  return path.join(plan.workDir, `chunk-${pad(index)}${plan.kind === 'dir' ? '' : '.ts'}`);
}

/** The segment's record (frames, flicker sums, seconds), written before the segment is renamed into place. */
export function chunkRecordPath(plan: Pick<VideoPlan, 'workDir'>, index: number): string {
  return path.join(plan.workDir, `chunk-${pad(index)}.json`);
}

/** PNG name of output frame j in a frames folder: zero-padded to 6 digits (more for longer videos). */
export function frameFileName(j: number, total: number): string {
  return `${pad(j, Math.max(6, String(total - 1).length))}.png`;
}

export function planFile(workDir: string): string {
  return path.join(workDir, 'plan.json');
}

export async function writePlan(plan: VideoPlan): Promise<void> {
  await writeFileAtomic(planFile(plan.workDir), JSON.stringify(plan, null, 1) + '\n');
}

/** The plan of a work dir (another machine: the same absolute paths must be mounted). */
export async function readPlan(workDir: string): Promise<VideoPlan> {
  let text: string;
  try {
    text = await fs.readFile(planFile(workDir), 'utf8');
  } catch {
    throw new TesgError(`${workDir}: no plan.json; it is not the work folder of a video fusion (or it was finished and removed)`);
  }
  const plan = JSON.parse(text) as VideoPlan;
  if (plan.version !== PLAN_VERSION) throw new TesgError(`${planFile(workDir)}: plan version ${String(plan.version)}, this tesg reads ${PLAN_VERSION}; finish it with the tesg that started it, or delete the folder`);
  return plan;
}

/**
 * Which top-level settings of two plans differ (for --resume's message). Inputs compare by absolute
 * path and fingerprint, not by how the path was spelled.
 */
export function planDifferences(a: VideoPlan, b: VideoPlan): string[] {
  const norm = (p: VideoPlan): Record<string, unknown> => ({ ...p, ir: { ...p.ir, path: undefined }, vi: { ...p.vi, path: undefined } });
  const [na, nb] = [norm(a), norm(b)];
  const keys = new Set([...Object.keys(na), ...Object.keys(nb)]);
  return [...keys].filter((k) => JSON.stringify(na[k]) !== JSON.stringify(nb[k]));
}

/** Indices of chunks whose segment is complete (exists). */
export async function completedChunks(plan: VideoPlan): Promise<number[]> {
  const names = new Set(await fs.readdir(plan.workDir).catch(() => [] as string[]));
  const done: number[] = [];
  for (let i = 0; i < chunkCount(plan); i++) if (names.has(path.basename(segmentPath(plan, i)))) done.push(i);
  return done;
}
