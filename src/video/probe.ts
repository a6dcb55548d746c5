import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { FFPROBE, parseRational, runTool, type Rational } from './ffmpeg.js';
import { listSequence, sequenceKind } from './sequence.js';
import { readImageSize } from '../image/read.js';

/**
 * What one input (IR or VI) is: a video file (probed with ffprobe) or an image sequence (a folder, or a
 * printf pattern such as `frames/%05d.png`). Plain JSON, so it can be stored in the work dir's plan and
 * handed to another machine with a chunk job.
 */
export interface SourceInfo {
  /** The path as the user gave it (messages name it). */
  path: string;
  /** The same, absolute: what decoders open (a chunk job may run in another folder or machine). */
  file: string;
  kind: 'video' | 'images';
  width: number;
  height: number;
  /** Frame count: demuxed packets for a video, files for a sequence. */
  frames: number;
  /** Frames per second; null for an image sequence (it takes the video's rate, --fps, or 25). */
  fps: Rational | null;
  /** video: the raw pixel format frames are decoded to (gray16le is mapped to 8 bits by --stretch). */
  decodeAs?: 'gray' | 'gray16le' | 'rgb24';
  /** video: timestamps are regular, so frame k can be found by seeking to k/fps. */
  constantRate?: boolean;
  /** images: the frame files in display order. */
  files?: string[];
  /** Size and mtime of the file(s), so --resume notices a changed input. */
  fingerprint: string;
}

interface ProbeStream {
  codec_type?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_read_packets?: string;
}

/** Probe one input; every failure is an InputError naming it. */
export async function probeSource(input: string): Promise<SourceInfo> {
  const seq = await sequenceKind(input);
  if (seq) return probeSequence(input, seq);
  return probeVideo(input);
}

async function probeVideo(file: string): Promise<SourceInfo> {
  let st;
  try {
    st = await fs.stat(file);
  } catch {
    throw new InputError(file, 'no such file or folder; check the path');
  }
  if (st.size === 0) throw new InputError(file, 'file is empty (0 bytes); re-export or re-copy it');
  const r = await runTool(FFPROBE, [
    '-v', 'error', '-select_streams', 'v:0', '-count_packets',
    '-show_entries', 'stream=codec_type,width,height,pix_fmt,r_frame_rate,avg_frame_rate,nb_read_packets',
    '-of', 'json', file,
  ]);
  if (r.code !== 0) throw new InputError(file, `not a readable video (ffprobe: ${r.stderr.reason(file)}); check that the file is complete, or re-export it`);
  const stream = (JSON.parse(r.stdout || '{}') as { streams?: ProbeStream[] }).streams?.[0];
  if (!stream || !stream.width || !stream.height) throw new InputError(file, 'no video stream in this file; expected a video, a folder of frames or a %05d.png pattern');
  const frames = Number(stream.nb_read_packets ?? 0);
  if (!(frames > 0)) throw new InputError(file, 'the video stream holds no frames; re-export the file');
  const avg = parseRational(stream.avg_frame_rate), rFps = parseRational(stream.r_frame_rate);
  const fps = avg ?? rFps;
  if (!fps) throw new InputError(file, `no frame rate in the stream (r_frame_rate ${stream.r_frame_rate}); re-encode it with a constant rate (ffmpeg -r)`);
  return {
    path: file,
    file: path.resolve(file),
    kind: 'video',
    width: stream.width,
    height: stream.height,
    frames,
    fps,
    decodeAs: decodeFormat(stream.pix_fmt ?? ''),
    constantRate: Boolean(avg && rFps && avg.num === rFps.num && avg.den === rFps.den),
    fingerprint: `${st.size}:${Math.round(st.mtimeMs)}`,
  };
}

/** Gray stays one channel (16-bit gray keeps its depth for --stretch); everything else becomes RGB. */
export function decodeFormat(pixFmt: string): 'gray' | 'gray16le' | 'rgb24' {
  if (/^(gray|ya8$|monow$|monob$)/.test(pixFmt)) {
    const bits = /^gray(\d+)/.exec(pixFmt)?.[1] ?? (pixFmt.startsWith('ya16') ? '16' : '8');
    return Number(bits) > 8 ? 'gray16le' : 'gray';
  }
  if (pixFmt.startsWith('ya16')) return 'gray16le';
  return 'rgb24';
}

async function probeSequence(input: string, kind: 'folder' | 'pattern'): Promise<SourceInfo> {
  const files = await listSequence(input, kind);
  const first = files[0], last = files[files.length - 1];
  const size = await readImageSize(first);
  const stamp = async (f: string) => {
    const st = await fs.stat(f);
    return `${path.basename(f)}:${st.size}:${Math.round(st.mtimeMs)}`;
  };
  return {
    path: input,
    file: path.resolve(input),
    kind: 'images',
    width: size.width,
    height: size.height,
    frames: files.length,
    fps: null,
    files: files.map((f) => path.resolve(f)),
    fingerprint: `${files.length}|${await stamp(first)}|${await stamp(last)}`,
  };
}
