import type { Readable } from 'node:stream';
import { InputError } from '../errors.js';
import { stretch16to8, type Stretch16 } from '../image/depth16.js';
import { readImage } from '../image/read.js';
import type { Image8 } from '../image/types.js';
import { FFMPEG, spawnTool } from './ffmpeg.js';
import type { SourceInfo } from './probe.js';

/**
 * Source frames [start, start + count) of one input as 8-bit images, in order.
 * Video: ffmpeg decodes to raw gray / gray16le / rgb24 on stdout (`-fps_mode passthrough`: one image per
 * decoded frame, none duplicated or dropped); frame `start` is reached by seeking to (start - 0.5)/fps
 * for a constant-rate stream (exact: ffmpeg drops the frames before that time), else by ffmpeg's trim
 * filter counting frames from the first. Image sequences: the files, read as `tesg fuse` reads them.
 * A decoder failure or a short stream is an InputError naming the file.
 */
export interface DecodeOptions {
  stretch?: Stretch16;
  /** Told about decode errors ffmpeg reported while still producing every frame (damaged frames). */
  onWarning?: (message: string) => void;
}

export async function* readFrames(info: SourceInfo, start: number, count: number, opts: DecodeOptions = {}): AsyncGenerator<Image8> {
  if (count <= 0) return;
  if (info.kind === 'images') {
    for (let i = start; i < start + count; i++) {
      const file = info.files![i];
      const img = await readImage(file, { stretch: opts.stretch });
      if (img.width !== info.width || img.height !== info.height) {
        throw new InputError(file, `frame is ${img.width}x${img.height} but the sequence's first frame is ${info.width}x${info.height}; every frame of ${info.path} must have one size`);
      }
      yield img;
    }
    return;
  }
  yield* decodeVideo(info, start, count, opts);
}

async function* decodeVideo(info: SourceInfo, start: number, count: number, opts: DecodeOptions): AsyncGenerator<Image8> {
  const fmt = info.decodeAs ?? 'rgb24';
  const channels = fmt === 'rgb24' ? 3 : 1;
  const bytes = info.width * info.height * channels * (fmt === 'gray16le' ? 2 : 1);
  const seek: string[] = [], filter: string[] = [];
  if (start > 0 && info.constantRate && info.fps) seek.push('-ss', (((start - 0.5) * info.fps.den) / info.fps.num).toFixed(6));
  else if (start > 0) filter.push('-vf', `trim=start_frame=${start}`);
  const args = ['-v', 'error', '-nostdin', ...seek, '-i', info.file, '-map', '0:v:0', ...filter, '-frames:v', String(count), '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', fmt, 'pipe:1'];
  const proc = spawnTool(FFMPEG, args);
  let got = 0;
  let finished = false;
  try {
    for await (const raw of rawFrames(proc.child.stdout!, bytes)) {
      got++;
      if (fmt === 'gray16le') {
        const values = new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
        yield { width: info.width, height: info.height, channels: 1, data: stretch16to8(values, opts.stretch) };
      } else {
        yield { width: info.width, height: info.height, channels, data: raw };
      }
    }
    finished = true;
  } finally {
    // The consumer stopped early (an error downstream): end the decoder we started.
    if (!finished && proc.child.exitCode === null) proc.child.kill('SIGTERM');
    await proc.exited.catch(() => undefined);
  }
  const code = await proc.exited;
  const reason = proc.stderr.reason(info.path);
  if (code !== 0) throw new InputError(info.path, `ffmpeg could not decode it (${reason}); check that the file is complete, or re-export it`);
  if (got < count) {
    throw new InputError(info.path, `decoded only ${got} of the ${count} frames from frame ${start} (the file is truncated or damaged: ${reason}); re-export it or cut it where it breaks`);
  }
  if (proc.stderr.all().length > 0) opts.onWarning?.(`${info.path}: ffmpeg reported decode errors (${reason}); some frames may be damaged`);
}

/** Split a byte stream into frames of exactly `frameBytes` bytes, each in its own buffer. */
async function* rawFrames(stream: Readable, frameBytes: number): AsyncGenerator<Uint8Array> {
  let frame = new Uint8Array(frameBytes);
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(frameBytes - filled, chunk.length - offset);
      frame.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === frameBytes) {
        yield frame;
        frame = new Uint8Array(frameBytes);
        filled = 0;
      }
    }
  }
}
