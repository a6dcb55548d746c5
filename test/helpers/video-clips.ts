/**
 * For the video tests and benchmark: test clips made with the real ffmpeg from real frames (the TNO
 * nato_camp sequence in ../shared, 32 aligned 360x270 gray IR/VI frames), the `tesg` CLI as a child
 * process, and decoded frames of an output video.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NATO = path.resolve(ROOT, '..', 'shared', 'data', 'tno-sequence', 'nato_camp');
export const NATO_FIRST = 1800;
export const NATO_FRAMES = 32;

/** A skip reason when the clip sources or ffmpeg are missing, else false. */
export function videoSkip(): string | false {
  if (!existsSync(NATO)) return 'no ../shared/data/tno-sequence/nato_camp';
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
  } catch {
    return 'no ffmpeg on PATH (apt-get install ffmpeg)';
  }
  return false;
}

/**
 * Copy nato_camp frames (offsets 0..31 into the sequence, repeats allowed) into dir as 00000.png,
 * 00001.png, ...; returns dir.
 */
export function sequenceFolder(dir: string, modality: 'ir' | 'vi', offsets: number[]): string {
  mkdirSync(dir, { recursive: true });
  offsets.forEach((o, i) => copyFileSync(path.join(NATO, modality, `${NATO_FIRST + o}.png`), path.join(dir, `${String(i).padStart(5, '0')}.png`)));
  return dir;
}

/** 0..31 then back down: a real-motion clip of any length up to 62 frames. */
export function pingPong(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i < NATO_FRAMES ? i : 2 * NATO_FRAMES - 2 - i));
}

export function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Encode dir/%05d.png as a clip: ffv1 (lossless, .mkv) or x264 (yuv420p, .mp4). */
export function encodeClip(dir: string, out: string, opts: { fps?: string; codec?: 'ffv1' | 'x264'; extra?: string[] } = {}): string {
  const codec = opts.codec === 'x264' ? ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-preset', 'veryfast'] : ['-c:v', 'ffv1'];
  ffmpeg(['-framerate', opts.fps ?? '25', '-i', path.join(dir, '%05d.png'), ...(opts.extra ?? []), ...codec, out]);
  return out;
}

/** Stream facts of a video by ffprobe. */
export function probe(file: string): { codec: string; width: number; height: number; pixFmt: string; rate: string; frames: number } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=codec_name,width,height,pix_fmt,avg_frame_rate,nb_read_packets', '-of', 'json', file]).toString();
  const s = (JSON.parse(out) as { streams: Array<Record<string, string | number>> }).streams[0];
  return { codec: String(s.codec_name), width: Number(s.width), height: Number(s.height), pixFmt: String(s.pix_fmt), rate: String(s.avg_frame_rate), frames: Number(s.nb_read_packets) };
}

/** Every frame of a video decoded to 8-bit gray (one Buffer per frame). */
export function decodeGray(file: string, width: number, height: number): Buffer[] {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { maxBuffer: 1 << 30 });
  const n = width * height;
  assert.equal(raw.length % n, 0);
  return Array.from({ length: raw.length / n }, (_, i) => raw.subarray(i * n, (i + 1) * n));
}

export function pngs(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
}

/** PSNR (dB) of two 8-bit buffers of one length. */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / se);
}

export { assertOneLineError, tesg, type CliResult } from './cli.js';
