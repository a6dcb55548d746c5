import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import { TesgError } from '../errors.js';
import type { Image8 } from '../image/types.js';
import { FFMPEG, runTool, spawnTool, type Rational, type Spawned } from './ffmpeg.js';

/**
 * Encoding fused frames with ffmpeg: raw gray/rgb24 frames go over stdin to libx264 (H.264, yuv420p by
 * default, BT.601 limited range as tagged), written as an MPEG-TS segment (90 kHz timestamps keep any
 * frame rate exact when segments are joined); `concatSegments` joins segments with ffmpeg's concat
 * demuxer without re-encoding (every segment starts with an IDR frame).
 */
export interface EncodeSettings {
  /** libx264 constant rate factor, 0 (best) .. 51; 18 is visually lossless. */
  crf: number;
  /** libx264 preset (ultrafast .. veryslow). */
  preset: string;
  /** yuv420p (plays everywhere; even width and height) or yuv444p (any size, full chroma). */
  pixFmt: 'yuv420p' | 'yuv444p';
}

export const DEFAULT_ENCODE: EncodeSettings = { crf: 18, preset: 'medium', pixFmt: 'yuv420p' };
export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'];

/** A video encoder failed: not the user's input, but shown as one line with ffmpeg's reason. */
export class EncodeError extends TesgError {}

export class SegmentEncoder {
  private pipeError?: Error;
  private constructor(private readonly proc: Spawned, private readonly file: string, private readonly frameBytes: number) {
    proc.child.stdin!.on('error', (err) => (this.pipeError = err));
  }

  /** Start ffmpeg writing `file` (MPEG-TS) from frames of this size, channel count and rate. */
  static open(file: string, frame: { width: number; height: number; channels: 1 | 3 }, fps: Rational, settings: EncodeSettings): SegmentEncoder {
    const args = [
      '-v', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', frame.channels === 1 ? 'gray' : 'rgb24', '-s', `${frame.width}x${frame.height}`,
      '-framerate', `${fps.num}/${fps.den}`, '-i', 'pipe:0',
      '-c:v', 'libx264', '-preset', settings.preset, '-crf', String(settings.crf), '-pix_fmt', settings.pixFmt,
      '-colorspace', 'smpte170m', '-color_primaries', 'smpte170m', '-color_trc', 'smpte170m', '-color_range', 'tv',
      '-f', 'mpegts', file,
    ];
    return new SegmentEncoder(spawnTool(FFMPEG, args, 'pipe'), file, frame.width * frame.height * frame.channels);
  }

  async write(img: Image8): Promise<void> {
    if (img.data.length !== this.frameBytes) throw new RangeError(`SegmentEncoder: frame of ${img.data.length} bytes, expected ${this.frameBytes}`);
    const stdin = this.proc.child.stdin!;
    if (this.pipeError || !stdin.write(img.data)) {
      // Wait for the pipe to drain, or for ffmpeg to have died (then close() reports why).
      await Promise.race([once(stdin, 'drain'), this.proc.exited.catch(() => undefined)]);
    }
    if (this.pipeError || this.proc.child.exitCode !== null) {
      await this.close();
      throw new EncodeError(`ffmpeg stopped reading frames for ${this.file} (${this.proc.stderr.reason()})`);
    }
  }

  /** Finish the segment; throws EncodeError with ffmpeg's last message if it failed. */
  async close(): Promise<void> {
    this.proc.child.stdin!.end();
    const code = await this.proc.exited;
    if (code !== 0) throw new EncodeError(`ffmpeg could not encode ${this.file} (${this.proc.stderr.reason()})`);
  }

  /** Stop without finishing (on an error elsewhere); the partial file is the caller's to remove. */
  async abort(): Promise<void> {
    // ffmpeg blocked reading stdin ignores SIGTERM until input ends (its read restarts): close the pipe
    // and end our own child for good.
    this.proc.child.stdin!.destroy();
    if (this.proc.child.exitCode === null) this.proc.child.kill('SIGKILL');
    await this.proc.exited.catch(() => undefined);
  }
}

/** Join MPEG-TS segments into `out` (`format` mp4 or matroska) with the concat demuxer, stream copy. */
export async function concatSegments(segments: string[], listFile: string, out: string, format: 'mp4' | 'matroska'): Promise<void> {
  const quote = (p: string) => `'${p.replace(/'/g, "'\\''")}'`;
  await fs.writeFile(listFile, segments.map((s) => `file ${quote(s)}\n`).join(''));
  const args = ['-v', 'error', '-nostdin', '-y', '-f', 'concat', '-safe', '0', '-i', listFile, '-map', '0:v:0', '-c', 'copy'];
  if (format === 'mp4') args.push('-movflags', '+faststart');
  args.push('-f', format, out);
  const r = await runTool(FFMPEG, args);
  if (r.code !== 0) throw new EncodeError(`ffmpeg could not join the segments into ${out} (${r.stderr.reason()})`);
}
