import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { DEFAULT_FUSION_METHOD, fusionMethodNames } from '../../fusion/index.js';
import { DEFAULT_STRETCH, STRETCH_MODES, type Stretch16 } from '../../image/depth16.js';
import { DEFAULT_CHUNK_FRAMES } from '../../video/plan.js';
import { DEFAULT_ENCODE, X264_PRESETS, type EncodeSettings } from '../../video/encode.js';
import { formatRate, parseRate } from '../../video/ffmpeg.js';
import { defaultVideoMethod, fuseVideo, type FuseVideoOptions } from '../../video/fuse-video.js';
import { SYNC_MODES, type SyncMode } from '../../video/pairing.js';
import { DEFAULT_TEMPORAL, PER_FRAME } from '../../video/temporal-sig.js';
import { outputKind } from '../../video/plan.js';
import { checkOutputPath } from '../../util/output-path.js';
import { checkSigVersionOption } from './fuse.js';

/**
 * `tesg fuse-video IR VI -o OUT.mp4|OUT.mkv|DIR/`: fuse a pair of videos (or image sequences) frame by
 * frame with any fusion method, the temporal SIG for the network. The work is in src/video/.
 */
export interface FuseVideoCliOptions {
  out?: string;
  method?: string;
  caption?: string;
  keyword: string[];
  gray?: boolean;
  stretch: string;
  sync?: string;
  fps?: string;
  crf: string;
  preset: string;
  pixFmt: string;
  chunk: string;
  resume?: boolean;
  keyEvery: string;
  maskWindow: string;
  captionVote: string;
  perFrameSig?: boolean;
  weights?: string;
  sigVersion?: string;
  backend?: string;
  threads?: string;
  tile?: string;
}

function int(v: string, what: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${what} must be an integer >= ${min}, got '${v}'`);
  return n;
}

/**
 * The fuse-video options shared by `tesg fuse-video` and `tesg queue add-video`, parsed into
 * FuseVideoOptions (resume and progress left to the caller). Errors: UsageError naming the option.
 */
export function videoOptions(o: FuseVideoCliOptions): FuseVideoOptions {
  if (o.sync !== undefined && !SYNC_MODES.includes(o.sync as SyncMode)) throw new UsageError(`--sync must be one of ${SYNC_MODES.join(', ')}, got '${o.sync}'`);
  const sequenceFps = o.fps === undefined ? undefined : (parseRate(o.fps) ?? undefined);
  if (o.fps !== undefined && !sequenceFps) throw new UsageError(`--fps must be a rate such as 25, 29.97 or 30000/1001, got '${o.fps}'`);
  const params: Record<string, string | number> = {};
  if (o.weights !== undefined) params.weights = o.weights;
  if (o.backend !== undefined) params.backend = o.backend;
  if (o.sigVersion !== undefined) params.sigVersion = o.sigVersion;
  if (o.threads !== undefined) params.threads = int(o.threads, '--threads', 1);
  if (o.tile !== undefined) params.tile = int(o.tile, '--tile', 0);
  const method = o.method ?? defaultVideoMethod();
  if (o.method === undefined && method !== 'tesg') process.stderr.write(`tesg: note: no trained weights shipped; fusing with the classic '${method}' baseline\n`);
  const temporal = o.perFrameSig ? PER_FRAME : { keyEvery: int(o.keyEvery, '--key-every', 1), window: int(o.maskWindow, '--mask-window', 1), captionVote: int(o.captionVote, '--caption-vote', 1) };
  const encode: EncodeSettings = { crf: int(o.crf, '--crf', 0), preset: o.preset, pixFmt: o.pixFmt as EncodeSettings['pixFmt'] };
  return {
    method,
    params,
    gray: o.gray,
    stretch: o.stretch as Stretch16,
    sync: o.sync as SyncMode | undefined,
    sequenceFps,
    chunkFrames: int(o.chunk, '--chunk', 1),
    temporal,
    caption: o.caption,
    keywords: o.keyword,
    encode,
  };
}

/**
 * checkOutputPath for a video command's -o, by the commands' own rule (src/video/plan.ts outputKind): a
 * folder of PNG frames for DIR/ or an existing folder, else an .mp4/.mkv file. Used by fuse-video and
 * queue add-video. InputError (one line) as checkOutputPath.
 */
export async function checkVideoOutput(out: string): Promise<void> {
  const kind = await outputKind(out);
  checkOutputPath(out, kind === 'dir' ? 'folder' : 'file', kind === 'dir'
    ? '-o DIR/ takes a folder (created if missing) for the PNG frames; give a folder, or OUT.mp4 / OUT.mkv for a video'
    : `-o takes the .${kind} video's file name, or DIR/ for a folder of PNG frames`);
}

async function runFuseVideo(ir: string, vi: string, o: FuseVideoCliOptions): Promise<void> {
  if (!o.out) throw new UsageError('missing -o OUT (a .mp4 or .mkv file, or a folder for PNG frames: -o DIR/)');
  const options = videoOptions(o);
  await checkVideoOutput(o.out);
  await checkSigVersionOption(o.sigVersion);
  const r = await fuseVideo(ir, vi, o.out, {
    ...options,
    resume: o.resume,
    onWarning: (m) => process.stderr.write(`tesg: warning: ${m}\n`),
  });
  const t = r.temporal;
  const sig = !t ? '' : t.keyEvery === 1 && t.window === 1 && t.captionVote === 1 ? ', per-frame SIG' : `, temporal SIG k=${t.keyEvery} w=${t.window} c=${t.captionVote}`;
  const resumed = r.resumedChunks > 0 ? `, ${r.resumedChunks} of ${r.chunks} chunks from the earlier run` : '';
  const flicker = Number.isFinite(r.flicker) ? `; flicker ${r.flicker.toFixed(3)}` : '';
  process.stdout.write(
    `wrote ${o.out} (${r.frames} frames, ${r.width}x${r.height}, ${formatRate(r.fps)} fps, ${r.method}${sig}${resumed}; ` +
      `${r.fusedFrames} frames in ${r.seconds.toFixed(1)} s, ${r.framesPerSecond.toFixed(2)} frames/s${flicker})\n`,
  );
}

/** The fuse-video options (all but -o and --resume) on `cmd`; `tesg queue add-video` takes the same. */
export function videoCliOptions(cmd: Command): Command {
  return cmd
    .option('-m, --method <name>', `fusion method: ${fusionMethodNames().join(', ')} (default: tesg with the shipped weights; ${DEFAULT_FUSION_METHOD} where there are none)`)
    .option('--sync <mode>', 'match inputs of different rate or length: fps (resample the faster to the slower rate, over the time both cover) or shortest (same rate, fuse the first min(n_IR, n_VI) frames)')
    .option('--fps <rate>', 'frame rate of image-sequence inputs (default: the other input\'s rate, or 25)')
    .option('--crf <n>', 'H.264 quality: 0 best .. 51 worst (lossless frames: -o DIR/)', String(DEFAULT_ENCODE.crf))
    .option('--preset <name>', `x264 speed/size trade-off: ${X264_PRESETS.join(', ')}`, DEFAULT_ENCODE.preset)
    .option('--pix-fmt <fmt>', 'yuv420p (plays everywhere, even sizes) or yuv444p', DEFAULT_ENCODE.pixFmt)
    .option('--chunk <frames>', 'frames per chunk (the unit of --resume)', String(DEFAULT_CHUNK_FRAMES))
    .option('--key-every <k>', 'tesg: run the full SIG (caption, V*, F_t) every k frames; masks every frame', String(DEFAULT_TEMPORAL.keyEvery))
    .option('--mask-window <w>', 'tesg: majority vote of the masks over w frames centred on each frame (odd)', String(DEFAULT_TEMPORAL.window))
    .option('--caption-vote <c>', 'tesg: a block of k frames takes the caption most of the c key frames around it have (odd)', String(DEFAULT_TEMPORAL.captionVote))
    .option('--per-frame-sig', 'tesg: the SIG of each frame on its own, exactly as tesg fuse (same as --key-every 1 --mask-window 1 --caption-vote 1)')
    .option('--caption <text>', 'tesg: use this caption T for every frame')
    .option('--keyword <word>', 'tesg: key object V* (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--stretch <mode>', `16-bit to 8-bit mapping (16-bit gray videos and frames): ${STRETCH_MODES.join(', ')}; shift keeps levels steady across frames`, DEFAULT_STRETCH)
    .option('--gray', 'write gray frames (default: colour from the visible video)')
    .option('--weights <file>', 'tesg: weights (.safetensors; the exported .onnx beside it is used when present)')
    .option('--sig-version <v>', 'tesg: built-in SIG v1 | v2 | v3 (default: the one the weights were trained with)')
    .option('--backend <name>', 'tesg: onnx or tfjs')
    .option('--threads <n>', 'tesg: onnxruntime threads (default: all cores)')
    .option('--tile <px>', 'tesg, onnx: tile size for large frames, 0 = never');
}

export function register(program: Command): void {
  videoCliOptions(
    program
      .command('fuse-video')
      .description('fuse an infrared and a visible video (or image sequences) frame by frame into a video or a folder of PNG frames')
      .argument('<ir>', 'infrared video (any format ffmpeg reads), folder of frames, or pattern such as frames/%05d.png')
      .argument('<vi>', 'visible video, folder or pattern; same frame size')
      .option('-o, --out <path>', 'output: OUT.mp4 or OUT.mkv (H.264), or DIR/ for lossless PNG frames')
      .option('--resume', 'continue an interrupted run of the same output from its last complete chunks'),
  ).action(async (ir: string, vi: string, opts: FuseVideoCliOptions) => runFuseVideo(ir, vi, opts));
}
