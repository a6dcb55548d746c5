import { promises as fs } from 'node:fs';
import path from 'node:path';
import { getFusionMethod, fusionMethodNames, registerFusionMethod, type FusionMethod } from '../fusion/index.js';
import { TesgFusion, weightsFileOf } from '../fusion/tesg-method.js';
import { modelDigest } from '../fusion/model-digest.js';
import { MismatchError } from '../errors.js';
import type { Image8 } from '../image/types.js';
import { encodeImage } from '../image/write.js';
import { defaultProviders, type SigProviders } from '../semantics/sig.js';
import { writeFileAtomic } from '../util/atomic.js';
import { SegmentEncoder } from './encode.js';
import { FlickerMeter, type FlickerSums } from './flicker.js';
import { pairedFrames } from './frames.js';
import { chunkRange, chunkRecordPath, frameFileName, planFile, readPlan, segmentPath, type VideoPlan } from './plan.js';
import { sigContext, temporalSig, type GuidedPair, type IndexedPair } from './temporal-sig.js';

/**
 * One chunk of a video fusion: output frames [start, end) of a plan -> one segment in its work dir.
 * This is the unit of resuming and of distribution: `fuseVideoChunk(plan, i)` (or, from a queue job
 * `{ kind: 'video-chunk', workDir, index }`, `runVideoChunkJob(job)`) needs only the plan, the inputs
 * and the work dir at the same absolute paths, and gives the same segment on any machine and in any
 * order, since the temporal SIG depends on absolute frame indices only (./temporal-sig.ts). The segment
 * is written under a temp name and renamed when complete; an existing segment is not redone.
 */
export interface ChunkContext {
  /** SIG providers to reuse across chunks (default: the built-in ones, made once per process). */
  providers?: SigProviders;
  /** Called after each fused frame (progress). */
  onFrame?: (index: number) => void;
  /** Called with non-fatal problems (ffmpeg decode errors that still gave every frame). */
  onWarning?: (message: string) => void;
}

/** What `chunk-NNNNNN.json` records. */
export interface ChunkRecord {
  index: number;
  start: number;
  end: number;
  /** Flicker sums over consecutive frames inside the chunk (./flicker.ts). */
  flicker: FlickerSums;
  /** Wall time to fuse and encode it. */
  seconds: number;
}

export interface ChunkResult extends ChunkRecord {
  segment: string;
  /** The segment existed already; nothing was done. */
  skipped: boolean;
}

/** A queue job of kind 'video-chunk' (src/queue/): the work dir holds the plan (absolute paths). */
export interface VideoChunkJob {
  kind: 'video-chunk';
  workDir: string;
  index: number;
}

/** The caller's providers, else the method's own (the SIG `tesg fuse` runs), else the built-in default. */
async function sigProviders(fusion: FusionMethod, plan: VideoPlan, ctx: ChunkContext): Promise<SigProviders> {
  if (ctx.providers) return ctx.providers;
  if (fusion.sigProviders) return fusion.sigProviders(plan.params);
  return (sharedProviders ??= defaultProviders());
}

let sharedProviders: SigProviders | undefined;

/** The 'tesg' method registered (the CLI registers it; a library caller may not have). */
function method(name: string): FusionMethod {
  if (name === 'tesg' && !fusionMethodNames().includes('tesg')) registerFusionMethod(new TesgFusion());
  return getFusionMethod(name);
}

/**
 * The plan's model is the one on disk: a chunk fused after the weights at the plan's path were replaced
 * (a new default, a worker machine with other files) would put two models in one video. MismatchError
 * naming plan.json and the weights.
 */
async function checkModel(plan: VideoPlan): Promise<void> {
  if ((await modelDigest(plan.method, plan.params)) === plan.model) return;
  throw new MismatchError(`${planFile(plan.workDir)}: the weights at ${weightsFileOf(plan.params)} (and the .onnx beside them) are not those this video was started with; put those back on this machine, or delete ${plan.workDir} and fuse the video again`);
}

export async function runVideoChunkJob(job: VideoChunkJob, ctx: ChunkContext = {}): Promise<ChunkResult> {
  return fuseVideoChunk(await readPlan(job.workDir), job.index, ctx);
}

export async function fuseVideoChunk(plan: VideoPlan, index: number, ctx: ChunkContext = {}): Promise<ChunkResult> {
  const range = chunkRange(plan, index);
  const segment = segmentPath(plan, index);
  const recordFile = chunkRecordPath(plan, index);
  if (await exists(segment)) {
    const record = JSON.parse(await fs.readFile(recordFile, 'utf8')) as ChunkRecord;
    return { ...record, segment, skipped: true };
  }
  await checkModel(plan);
  const fusion = method(plan.method);
  const t0 = performance.now();
  const guided = fusion.usesSig && plan.temporal !== null;
  const context = guided ? sigContext(range, plan.temporal!) : { from: range.start, to: range.end };
  const pairs = pairedFrames(plan, context.from, context.to, { onWarning: ctx.onWarning });
  const frames: AsyncIterable<IndexedPair | GuidedPair> = guided ? temporalSig(pairs, range, await sigProviders(fusion, plan, ctx), plan.temporal!) : pairs;

  const tmp = `${segment}.tmp-${process.pid}-${Date.now()}`;
  const sink = plan.kind === 'dir' ? new FolderSink(tmp, range.total) : new EncoderSink(tmp, plan);
  const meter = new FlickerMeter();
  try {
    for await (const f of frames) {
      const guidance = 'sig' in f ? f.sig : undefined;
      const fused = await fusion.fuse(f.ir, f.vi, { gray: plan.gray, params: plan.params, guidance });
      meter.add(fused, f.ir, f.vi);
      await sink.write(f.index, fused);
      ctx.onFrame?.(f.index);
    }
    await sink.close();
  } catch (err) {
    await sink.abort();
    throw err;
  }
  const record: ChunkRecord = { index, start: range.start, end: range.end, flicker: meter.result(), seconds: (performance.now() - t0) / 1000 };
  await writeFileAtomic(recordFile, JSON.stringify(record) + '\n');
  await fs.rename(tmp, segment);
  return { ...record, segment, skipped: false };
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

interface Sink {
  write(index: number, img: Image8): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** PNG frames into a temp folder (renamed into place by the caller). */
class FolderSink implements Sink {
  private made = false;
  constructor(private readonly dir: string, private readonly total: number) {}
  async write(index: number, img: Image8): Promise<void> {
    if (!this.made) await fs.mkdir(this.dir, { recursive: true });
    this.made = true;
    await fs.writeFile(path.join(this.dir, frameFileName(index, this.total)), await encodeImage(img, 'png'));
  }
  async close(): Promise<void> {
    if (!this.made) await fs.mkdir(this.dir, { recursive: true });
  }
  async abort(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

/** H.264 into a temp MPEG-TS file; ffmpeg starts at the first frame, which fixes gray or RGB input. */
class EncoderSink implements Sink {
  private encoder?: SegmentEncoder;
  constructor(private readonly file: string, private readonly plan: VideoPlan) {}
  async write(_index: number, img: Image8): Promise<void> {
    this.encoder ??= SegmentEncoder.open(this.file, img, this.plan.pairing.fps, this.plan.encode);
    await this.encoder.write(img);
  }
  async close(): Promise<void> {
    if (!this.encoder) throw new Error(`chunk ${this.file}: no frames to encode`);
    await this.encoder.close();
  }
  async abort(): Promise<void> {
    await this.encoder?.abort();
    await fs.rm(this.file, { force: true });
  }
}
