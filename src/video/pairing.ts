import { MismatchError, UsageError } from '../errors.js';
import { assertSameSize } from '../image/read.js';
import { formatRate, rateValue, sameRate, type Rational } from './ffmpeg.js';
import type { SourceInfo } from './probe.js';

/**
 * Pairing IR and VI frames in time. Output frame j is shown at j / fps; it fuses the IR and VI frames
 * nearest to that time: source index round(j * fps_src / fps_out). Without --sync both inputs must
 * have the same rate and frame count (then frame j pairs with frame j); otherwise a one-line
 * MismatchError says what differs and which --sync would match them:
 *  - `shortest`: same rate, fuse the first min(n_IR, n_VI) frames;
 *  - `fps`: output at the lower of the two rates (the faster input is resampled to it by nearest
 *    frame, as ffmpeg's fps filter does), over the time both inputs cover.
 * An image sequence has no rate of its own: it takes --fps, else the other input's rate, else 25.
 */
export type SyncMode = 'fps' | 'shortest';
export const SYNC_MODES: readonly SyncMode[] = ['fps', 'shortest'];
export const DEFAULT_SEQUENCE_FPS: Rational = { num: 25, den: 1 };

/** Output frame j uses source frame floor((2 j a + b) / 2b) = round(j * a / b), with a/b = fps_src / fps_out. */
export interface FrameMap {
  a: number;
  b: number;
}

export interface Pairing {
  /** Output frames. */
  frames: number;
  fps: Rational;
  ir: FrameMap;
  vi: FrameMap;
}

export function sourceIndex(map: FrameMap, j: number): number {
  return Math.floor((2 * j * map.a + map.b) / (2 * map.b));
}

/** The rates the two inputs run at, with image sequences resolved. */
export function resolveRates(ir: SourceInfo, vi: SourceInfo, sequenceFps?: Rational): { ir: Rational; vi: Rational } {
  if (sequenceFps && ir.fps && vi.fps) {
    throw new UsageError('--fps sets the rate of image-sequence inputs, and both inputs are videos; use --sync fps to match two rates');
  }
  const fallback = sequenceFps ?? ir.fps ?? vi.fps ?? DEFAULT_SEQUENCE_FPS;
  return { ir: ir.fps ?? fallback, vi: vi.fps ?? fallback };
}

export function pairFrames(ir: SourceInfo, vi: SourceInfo, opts: { sync?: SyncMode; sequenceFps?: Rational } = {}): Pairing {
  assertSameSize(ir, ir.path, vi, vi.path);
  const rates = resolveRates(ir, vi, opts.sequenceFps);
  const rateDiff = !sameRate(rates.ir, rates.vi);
  const lengthDiff = ir.frames !== vi.frames;
  const rateText = `IR ${ir.path} is ${formatRate(rates.ir)} fps, VI ${vi.path} is ${formatRate(rates.vi)} fps`;
  const lengthText = `IR ${ir.path} has ${ir.frames} frames, VI ${vi.path} has ${vi.frames}`;
  if (rateDiff && opts.sync !== 'fps') {
    throw new MismatchError(`frame rates differ: ${rateText}; pass --sync fps to resample the faster input to the slower rate`);
  }
  if (!rateDiff) {
    if (lengthDiff && opts.sync === undefined) {
      throw new MismatchError(`lengths differ: ${lengthText}; pass --sync shortest to fuse the first ${Math.min(ir.frames, vi.frames)} frames`);
    }
    const same = { a: 1, b: 1 };
    return { frames: Math.min(ir.frames, vi.frames), fps: rates.ir, ir: same, vi: same };
  }
  const out = rateValue(rates.ir) <= rateValue(rates.vi) ? rates.ir : rates.vi;
  const toMap = (r: Rational): FrameMap => ({ a: r.num * out.den, b: r.den * out.num });
  const maps = { ir: toMap(rates.ir), vi: toMap(rates.vi) };
  // The last output frame whose nearest source frame still exists, in each input.
  const covered = (map: FrameMap, n: number): number => {
    let j = Math.floor((n * map.b) / map.a) + 1;
    while (j > 0 && sourceIndex(map, j - 1) > n - 1) j--;
    return j;
  };
  return { frames: Math.min(covered(maps.ir, ir.frames), covered(maps.vi, vi.frames)), fps: out, ...maps };
}
