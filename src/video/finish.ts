import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TesgError } from '../errors.js';
import { EncodeError, concatSegments } from './encode.js';
import { FFPROBE, runTool } from './ffmpeg.js';
import { addSums, NO_FLICKER, type FlickerSums } from './flicker.js';
import { chunkCount, chunkRecordPath, completedChunks, segmentPath, type VideoPlan } from './plan.js';
import type { ChunkRecord } from './chunk.js';

/**
 * The end of a video fusion, once every chunk's segment exists: join the segments into the output
 * and remove the work dir. A video is joined with ffmpeg's concat demuxer (no re-encoding) into a temp
 * file beside the output, its frame count checked, then renamed over the output; a frames folder is
 * assembled in a temp folder beside it and renamed into place (the output folder must not exist, or be
 * empty). Either way the output appears whole or not at all, and a failed join removes its temp files.
 */
export interface FinishReport {
  frames: number;
  /** Summed over the chunks (pairs inside each chunk; ./flicker.ts). */
  flicker: FlickerSums;
}

export interface FinishOptions {
  /**
   * Called once the joined output is complete under its temp name, right before it is renamed into
   * place (the last check of a joiner that must still hold a lock: src/queue/video.ts). Throwing
   * aborts the finish with its error: nothing is written, the temp files are removed, the work dir stays.
   */
  beforeCommit?: () => Promise<void>;
  /**
   * Tells this join's temp files apart from another's: the temp output is `.<output name>.<tag>.tmp`
   * beside the output and the concat list `concat.<tag>.txt` in the work dir (default: the process
   * id, and `concat.txt`). For joiners on several machines, whose process ids may be the same.
   */
  tempTag?: string;
  /** Leave the work dir in place after the output is renamed into place (the caller removes it). */
  keepWorkDir?: boolean;
}

export async function finishVideo(plan: VideoPlan, opts: FinishOptions = {}): Promise<FinishReport> {
  const n = chunkCount(plan);
  const done = new Set(await completedChunks(plan));
  const missing = [...Array(n).keys()].filter((i) => !done.has(i));
  if (missing.length > 0) {
    throw new TesgError(`${plan.workDir}: ${missing.length} of ${n} chunks not fused yet (first: chunk ${missing[0]}); rerun with --resume to fuse them`);
  }
  let flicker = NO_FLICKER;
  for (let i = 0; i < n; i++) {
    const record = JSON.parse(await fs.readFile(chunkRecordPath(plan, i), 'utf8')) as ChunkRecord;
    flicker = addSums(flicker, record.flicker);
  }
  const segments = [...Array(n).keys()].map((i) => segmentPath(plan, i));
  const tmp = path.join(path.dirname(plan.output), `.${path.basename(plan.output)}.${opts.tempTag ?? process.pid}.tmp`);
  const commit = opts.beforeCommit ?? (async () => {});
  if (plan.kind === 'dir') await assembleFolder(segments, plan.output, tmp, commit);
  else await joinVideo(plan, segments, tmp, opts.tempTag === undefined ? 'concat.txt' : `concat.${opts.tempTag}.txt`, commit);
  if (!opts.keepWorkDir) await fs.rm(plan.workDir, { recursive: true, force: true });
  return { frames: plan.pairing.frames, flicker };
}

async function joinVideo(plan: VideoPlan, segments: string[], tmp: string, listName: string, beforeCommit: () => Promise<void>): Promise<void> {
  const out = plan.output;
  const list = path.join(plan.workDir, listName);
  try {
    await concatSegments(segments, list, tmp, plan.kind === 'mp4' ? 'mp4' : 'matroska');
    const frames = await countFrames(tmp);
    if (frames !== plan.pairing.frames) throw new EncodeError(`joined video has ${frames} frames, expected ${plan.pairing.frames}; the segments in ${plan.workDir} are damaged, delete it and run again`);
    await beforeCommit();
    await fs.rename(tmp, out);
  } finally {
    await fs.rm(tmp, { force: true });
    await fs.rm(list, { force: true });
  }
}

/** Video frames (packets) in a file, by ffprobe. */
export async function countFrames(file: string): Promise<number> {
  const r = await runTool(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file]);
  return r.code === 0 ? Number(r.stdout.trim()) : -1;
}

async function assembleFolder(segments: string[], out: string, tmp: string, beforeCommit: () => Promise<void>): Promise<void> {
  const notEmpty = () => new TesgError(`${out}: the folder is not empty any more; empty it or choose another -o, then rerun with --resume`);
  if (((await fs.readdir(out).catch(() => null))?.length ?? 0) > 0) throw notEmpty();
  try {
    await fs.mkdir(tmp, { recursive: true });
    // Hard links (a copy across filesystems): the segments stay whole until the work dir goes, so a kill
    // here still leaves a run that --resume finishes.
    for (const seg of segments) {
      for (const name of await fs.readdir(seg)) {
        const [from, to] = [path.join(seg, name), path.join(tmp, name)];
        await fs.link(from, to).catch(() => fs.copyFile(from, to));
      }
    }
    await beforeCommit();
    // Looked at again: the folder may have been made or filled while the frames were linked.
    const existing = await fs.readdir(out).catch(() => null);
    if (existing && existing.length > 0) throw notEmpty();
    if (existing) await fs.rmdir(out);
    await fs.rename(tmp, out);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
