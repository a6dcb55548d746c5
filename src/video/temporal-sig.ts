import type { Image8 } from '../image/types.js';
import { runSig, type SigProviders } from '../semantics/sig.js';
import type { BinaryMask, SigResult } from '../semantics/types.js';

/**
 * A temporal SIG: the SIG of each video frame, stabilised over time, built on the SIG provider
 * interfaces (any CaptionProvider / MaskProvider / TextEncoder; it only calls runSig and masker.masks).
 *
 * - Text. Key frames (index divisible by k) get the full SIG (runSig): caption T, key objects V*, T^,
 *   F_t. The frames of key K's block [K, K + k) all take one text: the caption that most of the c key
 *   frames K - (c-1)/2 k .. K + (c-1)/2 k have (a tie keeps K's own, else the nearest), with its V*, T^
 *   and F_t. So the text guidance changes at most once per k frames, and only when the new caption
 *   holds on most of the voting keys: a captioner wavering on one key frame changes nothing.
 *   (F_t moves the whole fused image: on TNO nato_camp a caption switch shifts its mean by ~1 grey
 *   level, against ~0.03 for a 600-pixel mask; the text is where per-frame flicker comes from.)
 * - Masks. Every frame: M_vis and M_ir from the mask provider with its block's T, T^, V* (objects
 *   move, so masks are not held); then M, M_vis and M_ir are each a per-pixel majority over the
 *   centred window of w frames [t - h, t + h], h = (w - 1) / 2 (cut at the ends of the video; a tie
 *   keeps frame t's value). A detection in one frame only, or missing in one frame only, does not blink.
 *
 * Both rules depend only on absolute frame indices, so a chunk [start, end) of a long video gets the
 * same SIG as the whole run, given the frames sigContext(...).from .. .to - 1. k = w = c = 1 is
 * exactly the per-frame SIG of `tesg fuse`. Frames wait in memory until the voting key after them has
 * been seen: at most about (c+1)/2 k + h frame pairs.
 */
export interface TemporalSigOptions {
  /** Run the full SIG every k frames (>= 1). */
  keyEvery: number;
  /** Majority window over the masks in frames, odd (>= 1). */
  window: number;
  /** Key frames voting on a block's caption, odd (>= 1; 1 = the block's own key). */
  captionVote: number;
  /** User caption T (as tesg fuse --caption). */
  caption?: string;
  /** User V* (as tesg fuse --keyword). */
  keywords?: readonly string[];
}

export type TemporalSettings = Pick<TemporalSigOptions, 'keyEvery' | 'window' | 'captionVote'>;
export const DEFAULT_TEMPORAL: TemporalSettings = { keyEvery: 8, window: 3, captionVote: 3 };
export const PER_FRAME: TemporalSettings = { keyEvery: 1, window: 1, captionVote: 1 };

export interface IndexedPair {
  /** Output frame index in the whole video. */
  index: number;
  ir: Image8;
  vi: Image8;
}

export interface GuidedPair extends IndexedPair {
  sig: SigResult;
}

export interface FrameRange {
  start: number;
  /** Exclusive. */
  end: number;
  /** Frames in the whole video. */
  total: number;
}

function checkSettings(o: TemporalSettings): void {
  const ok = (v: number, odd: boolean) => Number.isInteger(v) && v >= 1 && (!odd || v % 2 === 1);
  if (!ok(o.keyEvery, false) || !ok(o.window, true) || !ok(o.captionVote, true)) {
    throw new RangeError(`temporal SIG: keyEvery ${o.keyEvery} must be >= 1, window ${o.window} and captionVote ${o.captionVote} odd >= 1`);
  }
}

/**
 * The frames [from, to) a chunk's temporal SIG must see: the mask window's margins (h frames either
 * side) and the voting key frames of every block those touch.
 */
export function sigContext(range: FrameRange, opts: TemporalSettings): { from: number; to: number } {
  checkSettings(opts);
  const { keyEvery: k } = opts;
  const h = (opts.window - 1) / 2, reach = ((opts.captionVote - 1) / 2) * k;
  const first = Math.max(0, range.start - h), last = Math.min(range.total - 1, range.end - 1 + h);
  return { from: Math.max(0, first - (first % k) - reach), to: Math.min(range.total, Math.max(last, last - (last % k) + reach) + 1) };
}

/**
 * Guide the frames of `range`: `frames` must yield the indices sigContext(range).from .. .to - 1 in
 * order; yields the frames of [start, end) in order, each with its temporal SigResult.
 */
export async function* temporalSig(frames: AsyncIterable<IndexedPair>, range: FrameRange, providers: SigProviders, opts: TemporalSigOptions): AsyncGenerator<GuidedPair> {
  checkSettings(opts);
  const k = opts.keyEvery, total = range.total;
  const h = (opts.window - 1) / 2, reach = (opts.captionVote - 1) / 2;
  const needed = (j: number) => j >= range.start - h && j < range.end + h;
  const keys = new Map<number, SigResult>();
  const waiting: IndexedPair[] = [];
  const raw = new Map<number, GuidedPair>();
  let seen = -1;
  let next = range.start;

  /** The text of key K's block, once every voting key up to K + reach k has been seen. */
  const blockText = (K: number): SigResult => {
    const votes: Array<{ d: number; s: SigResult }> = [];
    for (let d = -reach; d <= reach; d++) {
      const q = K + d * k;
      if (q < 0 || q >= total) continue;
      const s = keys.get(q);
      if (!s) throw new Error(`temporalSig: key frame ${q} was not given`);
      votes.push({ d, s });
    }
    const count = new Map<string, number>();
    for (const v of votes) count.set(v.s.caption, (count.get(v.s.caption) ?? 0) + 1);
    const best = Math.max(...count.values());
    const own = keys.get(K)!;
    if (count.get(own.caption) === best) return own;
    // The nearest key (earlier first) among the most voted captions.
    const sorted = votes.filter((v) => count.get(v.s.caption) === best).sort((a, b) => Math.abs(a.d) - Math.abs(b.d) || a.d - b.d);
    return sorted[0].s;
  };
  const textReady = (j: number, ended: boolean) => ended || seen >= Math.min(total - 1, j - (j % k) + reach * k);

  const computeRaw = async (f: IndexedPair): Promise<void> => {
    const K = f.index - (f.index % k);
    const text = blockText(K);
    let sig: SigResult;
    if (f.index === K && text === keys.get(K)) {
      sig = text;
    } else {
      const m = await providers.masker.masks({ vi: f.vi, ir: f.ir, caption: text.caption, captionWithout: text.captionWithout, keywords: text.keywords });
      sig = { ...text, maskVis: m.vis, maskIr: m.ir, mask: maskUnion(m.vis, m.ir) };
    }
    raw.set(f.index, { ...f, sig });
  };

  const emit = (t: number): GuidedPair => {
    const own = raw.get(t)!;
    const lo = Math.max(0, t - h), hi = Math.min(total - 1, t + h);
    const win: SigResult[] = [];
    for (let u = lo; u <= hi; u++) win.push(raw.get(u)!.sig);
    const at = t - lo;
    const sig = win.length === 1 ? own.sig : {
      ...own.sig,
      mask: majorityMask(win.map((s) => s.mask), at),
      maskVis: majorityMask(win.map((s) => s.maskVis), at),
      maskIr: majorityMask(win.map((s) => s.maskIr), at),
    };
    for (const u of [...raw.keys()]) if (u <= t - h) raw.delete(u);
    for (const K of [...keys.keys()]) if (K < t - h - reach * k - k) keys.delete(K);
    return { ...own, sig };
  };

  const windowReady = (t: number) => {
    for (let u = Math.max(0, t - h); u <= Math.min(total - 1, t + h); u++) if (!raw.has(u)) return false;
    return true;
  };

  async function* drain(ended: boolean): AsyncGenerator<GuidedPair> {
    while (waiting.length > 0 && textReady(waiting[0].index, ended)) await computeRaw(waiting.shift()!);
    while (next < range.end && raw.has(next) && windowReady(next)) yield emit(next++);
  }

  for await (const f of frames) {
    if (f.index !== seen + 1 && seen >= 0) throw new Error(`temporalSig: frame ${f.index} after ${seen}; frames must come in order`);
    seen = f.index;
    if (f.index % k === 0) keys.set(f.index, await runSig({ ir: f.ir, vi: f.vi, providers, caption: opts.caption, keywords: opts.keywords }));
    if (needed(f.index)) waiting.push(f);
    yield* drain(false);
  }
  yield* drain(true);
  if (next < range.end) throw new Error(`temporalSig: frames ended at ${seen}, before the range's end ${range.end}`);
}

/** M = M_vis U M_ir (eq. 3), as 0/1 (any non-zero input value counts as set). */
export function maskUnion(a: BinaryMask, b: BinaryMask): BinaryMask {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError(`maskUnion: ${a.width}x${a.height} and ${b.width}x${b.height}`);
  const data = new Uint8Array(a.data.length);
  for (let i = 0; i < data.length; i++) data[i] = a.data[i] || b.data[i] ? 1 : 0;
  return { width: a.width, height: a.height, data };
}

/**
 * Per-pixel majority of binary masks of one size: 1 where more than half are set; on a tie (even
 * count, at the cut ends of a video) the value of masks[own].
 */
export function majorityMask(masks: readonly BinaryMask[], own: number): BinaryMask {
  const { width, height } = masks[0];
  const n = masks.length;
  const count = new Uint8Array(width * height);
  for (const m of masks) {
    if (m.width !== width || m.height !== height) throw new RangeError(`majorityMask: ${m.width}x${m.height} mask among ${width}x${height}`);
    for (let i = 0; i < count.length; i++) count[i] += m.data[i] ? 1 : 0;
  }
  const mine = masks[own].data;
  const data = new Uint8Array(count.length);
  for (let i = 0; i < count.length; i++) data[i] = 2 * count[i] > n || (2 * count[i] === n && mine[i]) ? 1 : 0;
  return { width, height, data };
}
