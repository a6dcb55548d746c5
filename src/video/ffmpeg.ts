import { spawn, type ChildProcess } from 'node:child_process';
import { TesgError } from '../errors.js';

/**
 * Running Debian's `ffmpeg` / `ffprobe` as child processes. Frames travel over stdin/stdout pipes as raw
 * bytes; nothing is written to disk in between. Only the last lines of stderr are kept (for messages).
 */
export const FFMPEG = process.env.TESG_FFMPEG ?? 'ffmpeg';
export const FFPROBE = process.env.TESG_FFPROBE ?? 'ffprobe';

/** ffmpeg/ffprobe is not installed (spawn ENOENT). */
export class FfmpegMissingError extends TesgError {
  constructor(binary: string) {
    super(`${binary} not found on PATH; video needs Debian's ffmpeg package (apt-get install ffmpeg)`);
  }
}

/** The last `max` non-empty stderr lines of a child, kept as they arrive. */
export class StderrTail {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max = 20) {}
  push(chunk: Buffer | string): void {
    const parts = (this.partial + chunk.toString()).split('\n');
    this.partial = parts.pop() ?? '';
    for (const l of parts) if (l.trim()) this.lines.push(l.trim());
    if (this.lines.length > this.max) this.lines = this.lines.slice(-this.max);
  }
  all(): string[] {
    return this.partial.trim() ? [...this.lines, this.partial.trim()] : [...this.lines];
  }
  /** The last line: where ffmpeg puts the fatal error. */
  last(): string {
    const all = this.all();
    return all.length ? all[all.length - 1] : 'no message';
  }

  /**
   * The last `n` distinct lines as one line, without ffmpeg's "[demuxer @ 0x...]" tags and without the
   * `file: ` prefix: the cause usually comes a line before the fatal one ("moov atom not found").
   */
  reason(file?: string, n = 2): string {
    const cleaned = this.all()
      .map((l) => l.replace(/^\[[^\]]* @ 0x[0-9a-f]+\]\s*/, ''))
      .map((l) => (file && l.startsWith(`${file}: `) ? l.slice(file.length + 2) : l));
    const distinct = cleaned.filter((l, i) => cleaned.indexOf(l) === i);
    return distinct.length ? distinct.slice(-n).join('; ') : 'no message';
  }
}

export interface Spawned {
  child: ChildProcess;
  stderr: StderrTail;
  /** Resolves with the exit code (signal kills give null) once the process is gone. */
  exited: Promise<number | null>;
}

/** Spawn ffmpeg/ffprobe with pipes; a missing binary rejects `exited` with FfmpegMissingError. */
export function spawnTool(binary: string, args: string[], stdin: 'pipe' | 'ignore' = 'ignore'): Spawned {
  const child = spawn(binary, args, { stdio: [stdin, 'pipe', 'pipe'] });
  const stderr = new StderrTail();
  child.stderr?.on('data', (d: Buffer) => stderr.push(d));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new FfmpegMissingError(binary) : err));
    child.once('close', (code) => resolve(code));
  });
  return { child, stderr, exited };
}

/** Run to completion; resolves with stdout, exit code and the stderr tail. */
export async function runTool(binary: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: StderrTail }> {
  const s = spawnTool(binary, args);
  const chunks: Buffer[] = [];
  s.child.stdout?.on('data', (d: Buffer) => chunks.push(d));
  const code = await s.exited;
  return { code, stdout: Buffer.concat(chunks).toString(), stderr: s.stderr };
}

/** A frame rate as the exact fraction ffprobe reports ("30000/1001"). */
export interface Rational {
  num: number;
  den: number;
}

export function parseRational(s: string | undefined): Rational | null {
  const m = /^(\d+)(?:\/(\d+))?$/.exec((s ?? '').trim());
  if (!m) return null;
  const num = Number(m[1]), den = m[2] === undefined ? 1 : Number(m[2]);
  if (num <= 0 || den <= 0) return null;
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

/** "25", "29.97", "30000/1001" (the --fps option) -> Rational. */
export function parseRate(s: string): Rational | null {
  const frac = parseRational(s);
  if (frac) return frac;
  const x = Number(s);
  if (!Number.isFinite(x) || x <= 0) return null;
  const den = 1000;
  return parseRational(`${Math.round(x * den)}/${den}`);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export function rateValue(r: Rational): number {
  return r.num / r.den;
}

export function formatRate(r: Rational): string {
  const v = r.num / r.den;
  return Number.isInteger(v) ? String(v) : v.toFixed(3).replace(/0+$/, '');
}

/** Same rate within 0.1 % (containers round 29.97 differently). */
export function sameRate(a: Rational, b: Rational): boolean {
  return Math.abs(rateValue(a) - rateValue(b)) <= 1e-3 * Math.max(rateValue(a), rateValue(b));
}
