/**
 * `npm run bench -- video [--frames N] [--runs N] [--no-flicker]`: `tesg fuse-video` speed and flicker.
 *
 * Speed: a 640x480 H.264 clip pair made with ffmpeg from the first N MSRS test pairs (default 16;
 * ../shared/data/msrs/test, else the two bundled samples repeated), fused to .mp4 (crf 18, preset
 * medium) with `--method average` (decode + encode + a trivial fusion: the ffmpeg overhead) and with
 * the shipped model (temporal SIG, and per-frame SIG), side by side in one process; frames/s, median of
 * --runs runs (default 3) after one warm-up run each (model loading is not a per-frame cost).
 *
 * Flicker: the real 32-frame TNO nato_camp sequence (360x270), lossless, per-frame SIG vs temporal SIG
 * (default k 8, w 3, c 3, and c 1: the key-frame text without the vote), shipped model;
 * flicker = mean |fused_t - fused_t-1| / mean source change (src/video/flicker.ts), and the average baseline.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fuseVideo, type FuseVideoOptions } from '../src/video/fuse-video.js';
import { DEFAULT_TEMPORAL, PER_FRAME } from '../src/video/temporal-sig.js';
import { numberOption } from './lib/args.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const MSRS = path.resolve(ROOT, '..', 'shared', 'data', 'msrs', 'test');
const NATO = path.resolve(ROOT, '..', 'shared', 'data', 'tno-sequence', 'nato_camp');

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;

/** dir/{ir,vi}/%05d.png from the first n MSRS test pairs (or the bundled samples, repeated). */
function msrsFrames(dir: string, n: number): void {
  const src = existsSync(MSRS) ? MSRS : path.join(ROOT, 'samples', 'msrs');
  const stems = readdirSync(path.join(src, 'ir')).filter((f) => f.endsWith('.png')).sort();
  for (const m of ['ir', 'vi']) {
    mkdirSync(path.join(dir, m), { recursive: true });
    for (let i = 0; i < n; i++) copyFileSync(path.join(src, m, stems[i % stems.length]), path.join(dir, m, `${String(i).padStart(5, '0')}.png`));
  }
}

function encode(pattern: string, out: string, codec: string[]): string {
  execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-framerate', '25', '-i', pattern, ...codec, out]);
  return out;
}

export async function run(args: string[]): Promise<void> {
  const frames = numberOption(args, 'frames', 16);
  const runs = numberOption(args, 'runs', 3);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-bench-video-'));
  const quiet: FuseVideoOptions = { progressTty: false };
  try {
    msrsFrames(tmp, frames);
    const x264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '16'];
    const ir = encode(path.join(tmp, 'ir', '%05d.png'), path.join(tmp, 'ir.mp4'), x264);
    const vi = encode(path.join(tmp, 'vi', '%05d.png'), path.join(tmp, 'vi.mp4'), x264);
    process.stdout.write(`clip: ${frames} frames 640x480 (MSRS test pairs${existsSync(MSRS) ? '' : ': bundled samples repeated'}), H.264 in, H.264 crf 18 out; ${os.cpus().length} cores\n`);
    const configs: Array<[string, FuseVideoOptions]> = [
      ['average (ffmpeg overhead)', { method: 'average' }],
      ['tesg, temporal SIG', { method: 'tesg', temporal: DEFAULT_TEMPORAL }],
      ['tesg, per-frame SIG', { method: 'tesg', temporal: PER_FRAME }],
    ];
    // Warm-up on a 2-frame cut: loads the network and the detector (not a per-frame cost).
    const cut = (m: string) => encode(path.join(tmp, m, '%05d.png'), path.join(tmp, `${m}-2.mp4`), [...x264, '-frames:v', '2']);
    const [ir2, vi2] = [cut('ir'), cut('vi')];
    let k = 0;
    for (const [, opts] of configs) await fuseVideo(ir2, vi2, path.join(tmp, `warm-${k++}.mp4`), { ...quiet, ...opts });
    const rates = new Map<string, number[]>();
    for (let r = 0; r < runs; r++) {
      // Interleaved, so load from other processes falls on every row alike; the slowest row runs once.
      for (const [name, opts] of configs) {
        if (r > 0 && name.includes('per-frame')) continue;
        const rep = await fuseVideo(ir, vi, path.join(tmp, `out-${k++}.mp4`), { ...quiet, ...opts });
        rates.set(name, [...(rates.get(name) ?? []), rep.framesPerSecond]);
      }
    }
    process.stdout.write('\n| fuse-video 640x480 | frames/s (median) | s/frame | runs |\n|---|---|---|---|\n');
    const base = median(rates.get(configs[0][0])!);
    for (const [name] of configs) {
      const fps = median(rates.get(name)!);
      process.stdout.write(`| ${name} | ${fps.toFixed(2)} | ${(1 / fps).toFixed(3)} | ${rates.get(name)!.length} |\n`);
    }
    process.stdout.write(`ratio average / tesg temporal: ${(base / median(rates.get(configs[1][0])!)).toFixed(1)}x\n`);

    if (!args.includes('--no-flicker') && existsSync(NATO)) {
      mkdirSync(path.join(tmp, 'nato'));
      const natoClip = (m: string) => {
        const d = path.join(tmp, 'nato', m);
        mkdirSync(d);
        readdirSync(path.join(NATO, m)).sort().forEach((f, i) => copyFileSync(path.join(NATO, m, f), path.join(d, `${String(i).padStart(5, '0')}.png`)));
        return encode(path.join(d, '%05d.png'), path.join(tmp, `nato-${m}.mkv`), ['-c:v', 'ffv1']);
      };
      const [nir, nvi] = [natoClip('ir'), natoClip('vi')];
      const rows: Array<[string, FuseVideoOptions]> = [
        ['average', { method: 'average' }],
        ['tesg, per-frame SIG (k 1, w 1, c 1)', { method: 'tesg', temporal: PER_FRAME }],
        ['tesg, key-frame text only (k 8, w 3, c 1)', { method: 'tesg', temporal: { ...DEFAULT_TEMPORAL, captionVote: 1 } }],
        ['tesg, temporal SIG default (k 8, w 3, c 3)', { method: 'tesg', temporal: DEFAULT_TEMPORAL }],
      ];
      process.stdout.write('\n| nato_camp, 32 frames 360x270 | flicker (fused change / source change) |\n|---|---|\n');
      for (const [name, opts] of rows) {
        const rep = await fuseVideo(nir, nvi, path.join(tmp, `nato-${k++}`) + '/', { ...quiet, ...opts });
        process.stdout.write(`| ${name} | ${rep.flicker.toFixed(4)} |\n`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
