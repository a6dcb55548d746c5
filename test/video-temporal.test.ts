/**
 * The temporal SIG (src/video/temporal-sig.ts) and the flicker measure.
 * - Its rules, on scripted providers (real CaptionProvider/MaskProvider implementations that read a
 *   per-frame script, with the real lexicon text encoder): k = w = c = 1 is runSig frame by frame; any
 *   chunking gives the same SIG as the whole run; a caption blip on one key frame is voted away; a mask
 *   present or missing in a single frame does not blink.
 * - On the real TNO nato_camp sequence with the shipped model: the temporal SIG's fused video flickers
 *   less than the per-frame SIG's (flicker = mean |fused_t - fused_t-1| / mean source change), and the figure
 *   fuseVideo reports is the one measured on its output frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Image8 } from '../src/image/types.js';
import { readImage } from '../src/image/read.js';
import { LexiconEncoder } from '../src/semantics/lexicon-encoder.js';
import { runSig, type SigProviders } from '../src/semantics/sig.js';
import type { BinaryMask, CaptionProvider, MaskProvider, MaskRequest, SigResult } from '../src/semantics/types.js';
import { FlickerMeter, flickerRatio } from '../src/video/flicker.js';
import { fuseVideo } from '../src/video/fuse-video.js';
import { DEFAULT_TEMPORAL, PER_FRAME, majorityMask, sigContext, temporalSig, type IndexedPair, type TemporalSigOptions } from '../src/video/temporal-sig.js';
import { encodeClip, NATO, NATO_FIRST, pngs, sequenceFolder, videoSkip } from './helpers/video-clips.js';
import { ROOT } from './helpers/cli.js';

const W = 12, H = 6;

/** Per frame: the caption the "captioner" gives, and where the "detector" sees a person (or null). */
interface Script {
  captions: string[];
  boxes: Array<[number, number] | null>;
}

/** Frame t of a scripted video: VI pixel 0 holds t, so the providers can look the frame up. */
function scriptedFrames(n: number): IndexedPair[] {
  return Array.from({ length: n }, (_, t) => {
    const img = (v: number): Image8 => ({ width: W, height: H, channels: 1, data: new Uint8Array(W * H).fill(v) });
    const vi = img(100);
    vi.data[0] = t;
    return { index: t, ir: img(50 + t), vi };
  });
}

class ScriptedSig implements CaptionProvider, MaskProvider {
  readonly name = 'scripted';
  calls = 0;
  constructor(private readonly script: Script) {}
  async caption(vi: Image8): Promise<string> {
    return this.script.captions[vi.data[0]];
  }
  async masks(req: MaskRequest): Promise<{ vis: BinaryMask; ir: BinaryMask }> {
    this.calls++;
    const box = req.keywords.includes('person') ? this.script.boxes[req.vi.data[0]] : null;
    const vis: BinaryMask = { width: W, height: H, data: new Uint8Array(W * H) };
    if (box) for (let y = 1; y < 4; y++) for (let x = box[0]; x < box[1]; x++) vis.data[y * W + x] = 1;
    return { vis, ir: { width: W, height: H, data: new Uint8Array(W * H) } };
  }
}

function providers(script: Script): SigProviders {
  const s = new ScriptedSig(script);
  return { captioner: s, masker: s, encoder: new LexiconEncoder() };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function* from<T>(xs: T[]): AsyncGenerator<T> {
  yield* xs;
}

/** A walking person seen in most frames, the captioner wavering; 23 frames. */
function walkScript(): Script {
  const n = 23;
  const captions = Array.from({ length: n }, (_, t): string => (t % 5 === 2 ? 'a night road scene' : 'a night road scene with a person'));
  captions[12] = 'a night road scene with a car'; // a key-frame blip at k = 4
  const boxes = Array.from({ length: n }, (_, t): [number, number] | null => (t === 6 || t === 15 ? null : [t % 8, (t % 8) + 3]));
  boxes[9] = [0, 12]; // a one-frame false detection spanning the frame
  return { captions, boxes };
}

async function sigs(script: Script, opts: TemporalSigOptions, range = { start: 0, end: script.captions.length, total: script.captions.length }): Promise<SigResult[]> {
  const frames = scriptedFrames(range.total);
  const ctx = sigContext(range, opts);
  return (await collect(temporalSig(from(frames.slice(ctx.from, ctx.to)), range, providers(script), opts))).map((g) => g.sig);
}

test('k = w = c = 1 is runSig frame by frame', async () => {
  const script = walkScript();
  const got = await sigs(script, { ...PER_FRAME });
  const prov = providers(script);
  for (const f of scriptedFrames(23)) assert.deepEqual(got[f.index], await runSig({ ir: f.ir, vi: f.vi, providers: prov }), `frame ${f.index}`);
});

test('any chunking gives the SIG of the whole run (the context frames are enough)', async () => {
  const script = walkScript();
  for (const opts of [{ keyEvery: 4, window: 3, captionVote: 3 }, { keyEvery: 3, window: 5, captionVote: 1 }, { keyEvery: 1, window: 3, captionVote: 5 }, { keyEvery: 5, window: 1, captionVote: 3 }]) {
    const whole = await sigs(script, opts);
    for (const size of [1, 2, 4, 7]) {
      for (let start = 0; start < 23; start += size) {
        const range = { start, end: Math.min(23, start + size), total: 23 };
        const part = await sigs(script, opts, range);
        assert.equal(part.length, range.end - start);
        part.forEach((s, i) => assert.deepEqual(s, whole[start + i], `${JSON.stringify(opts)} chunk ${size}: frame ${start + i}`));
      }
    }
  }
});

test('the text changes only at block starts and holds through a one-key caption blip; masks do not blink', async () => {
  const script = walkScript();
  const opts = { keyEvery: 4, window: 3, captionVote: 3 };
  const got = await sigs(script, opts);
  // Keys 0, 4, 8, 12, 16, 20 say person, person, person, car, person, person: block 12 is voted back to person.
  assert.deepEqual(new Set(got.map((s) => s.caption)), new Set(['a night road scene with a person']));
  for (const s of got) assert.deepEqual(s.embedding, got[0].embedding);
  const perFrame = await sigs(script, { ...PER_FRAME });
  assert.equal(new Set(perFrame.map((s) => s.caption)).size, 3, 'the per-frame SIG wavers between 3 captions');
  // Frame 6 (missed detection) is filled from its neighbours; frame 9's false full-width box is voted away.
  const area = (m: BinaryMask) => m.data.reduce((a, b) => a + b, 0);
  assert.equal(area(perFrame[6].mask), 0);
  assert.ok(area(got[6].mask) > 0);
  assert.equal(area(perFrame[9].mask), 36);
  // Frame 9 keeps only the pixels its neighbours' boxes (columns 0-2 and 2-4) vote for: columns 0-4.
  const cols = new Set<number>();
  got[9].mask.data.forEach((v, i) => v && cols.add(i % W));
  assert.deepEqual([...cols].sort(), [0, 1, 2, 3, 4]);
  // Elsewhere a steady walk: the temporal mask is the frame's own box.
  assert.deepEqual(got[3].mask, perFrame[3].mask);
});

test('majority of masks: more than half; a tie keeps the frame\'s own value', () => {
  const m = (bits: number[]): BinaryMask => ({ width: bits.length, height: 1, data: Uint8Array.from(bits) });
  assert.deepEqual(majorityMask([m([1, 1, 0, 0]), m([1, 0, 1, 0]), m([0, 0, 1, 1])], 1).data, Uint8Array.from([1, 0, 1, 0]));
  assert.deepEqual(majorityMask([m([1, 0, 1, 0]), m([0, 1, 1, 0])], 0).data, Uint8Array.from([1, 0, 1, 0]));
  assert.deepEqual(majorityMask([m([1, 0, 1, 0]), m([0, 1, 1, 0])], 1).data, Uint8Array.from([0, 1, 1, 0]));
  // k 8, w 3, c 3: mask margins 7..12, their blocks 0 and 8, voting keys 0..16.
  assert.deepEqual(sigContext({ start: 8, end: 12, total: 40 }, DEFAULT_TEMPORAL), { from: 0, to: 17 });
  assert.deepEqual(sigContext({ start: 24, end: 32, total: 40 }, DEFAULT_TEMPORAL), { from: 8, to: 40 });
  assert.deepEqual(sigContext({ start: 0, end: 40, total: 40 }, PER_FRAME), { from: 0, to: 40 });
});

const skip = videoSkip();

// Pinned to tesg-v1 (its SIG v1 misses the person in most frames, which is what the temporal SIG
// smooths). With tesg-v2.1 (SIG v2 finds warm objects in every frame) the two measure the same on
// this clip: 1.0914 temporal vs 1.0905 per frame (2026-12-01).
test('nato_camp, tesg-v1: the temporal SIG flickers less than the per-frame SIG', { skip }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-video-temporal-'));
  try {
    // Frames 1804..1815: the per-frame detector sees a person in 1808 and 1809 only.
    const offsets = Array.from({ length: 12 }, (_, i) => 4 + i);
    const ir = encodeClip(sequenceFolder(path.join(tmp, 'ir'), 'ir', offsets), path.join(tmp, 'ir.mkv'));
    const vi = encodeClip(sequenceFolder(path.join(tmp, 'vi'), 'vi', offsets), path.join(tmp, 'vi.mkv'));
    const run = (name: string, temporal: typeof DEFAULT_TEMPORAL, chunkFrames: number) =>
      fuseVideo(ir, vi, path.join(tmp, name) + '/', { method: 'tesg', params: { weights: path.join(ROOT, 'weights', 'tesg-v1', 'tesg.safetensors') }, temporal, chunkFrames, progressTty: false });
    const perFrame = await run('per-frame', PER_FRAME, 12);
    const temporal = await run('temporal', DEFAULT_TEMPORAL, 12);
    assert.ok(temporal.flicker < perFrame.flicker, `temporal ${temporal.flicker.toFixed(4)} vs per-frame ${perFrame.flicker.toFixed(4)}`);
    // The reported figure is the measure over the written (lossless) frames.
    const meter = new FlickerMeter();
    const out = pngs(path.join(tmp, 'temporal'));
    for (let i = 0; i < 12; i++) {
      const src = (m: string) => readImage(path.join(NATO, m, `${NATO_FIRST + 4 + i}.png`));
      meter.add(await readImage(path.join(tmp, 'temporal', out[i])), await src('ir'), await src('vi'));
    }
    assert.ok(Math.abs(flickerRatio(meter.result()) - temporal.flicker) < 1e-12);
    assert.equal(meter.result().pairs, 11);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
