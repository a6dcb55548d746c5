import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError, MismatchError, UsageError } from '../errors.js';
import { toGray } from '../image/color.js';
import { readImage } from '../image/read.js';
import type { Image8 } from '../image/types.js';
import type { GammaAugment } from './augment.js';
import { drawGamma, gammaTable } from './augment.js';
import type { RngState } from './rng.js';
import { Rng } from './rng.js';
import type { SigEntry, SigSource } from './sig-source.js';

/**
 * Training data: the MSRS layout (`ir/`, `vi/`; `label/` unused here) paired by file stem, the SIG
 * outputs per stem, and a seeded sampler of random crops with flips. Every draw comes from one RNG
 * whose state (with the epoch order) is checkpointed, so a resumed run sees the same batches.
 */
export interface TrainPair {
  stem: string;
  irPath: string;
  viPath: string;
}

const IMAGE_EXT = /\.(png|jpe?g|bmp|tiff?)$/i;

export async function listTrainingPairs(dataDir: string): Promise<TrainPair[]> {
  const list = async (sub: string): Promise<Map<string, string>> => {
    const dir = path.join(dataDir, sub);
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      throw new InputError(dir, `missing: --data must hold the MSRS layout (ir/, vi/)`);
    }
    const out = new Map<string, string>();
    for (const n of names.filter((n) => IMAGE_EXT.test(n)).sort()) out.set(n.replace(IMAGE_EXT, ''), path.join(dir, n));
    return out;
  };
  const ir = await list('ir');
  const vi = await list('vi');
  const missing = [...ir.keys()].filter((s) => !vi.has(s)).concat([...vi.keys()].filter((s) => !ir.has(s)));
  if (missing.length > 0) {
    throw new MismatchError(`${dataDir}: ${missing.length} image(s) without a partner in ir/ or vi/, e.g. '${missing[0]}'`);
  }
  if (ir.size === 0) throw new InputError(path.join(dataDir, 'ir'), 'no images (png, jpg, bmp, tif)');
  return [...ir.keys()].map((stem) => ({ stem, irPath: ir.get(stem)!, viPath: vi.get(stem)! }));
}

/** One decoded training pair: IR as one channel, VI as RGB, mask 0/1 and F_t. */
export interface TrainSample {
  width: number;
  height: number;
  ir: Uint8Array;
  vi: Uint8Array;
  sig: SigEntry;
  /** The teacher's fused luminance (distillation), when the run has one. */
  teacher?: Uint8Array;
}

/**
 * A pair, its SIG entry and, with `teacherDir`, the teacher's fused image `<teacherDir>/<stem>.png`
 * as luminance (BT.601, the fused Y). Errors: MismatchError when sizes differ; InputError naming a
 * missing or unreadable teacher image.
 */
export async function loadSample(pair: TrainPair, sig: SigSource, teacherDir?: string): Promise<TrainSample> {
  const teacherPath = teacherDir ? path.join(teacherDir, `${pair.stem}.png`) : undefined;
  const [ir, vi, s, t] = await Promise.all([readImage(pair.irPath), readImage(pair.viPath), sig(pair.stem), teacherPath ? readImage(teacherPath) : undefined]);
  if (ir.width !== vi.width || ir.height !== vi.height || s.mask.width !== vi.width || s.mask.height !== vi.height || (t && (t.width !== vi.width || t.height !== vi.height))) {
    throw new MismatchError(
      `${pair.stem}: sizes differ: ${pair.irPath} ${ir.width}x${ir.height}, ${pair.viPath} ${vi.width}x${vi.height}, SIG mask ${s.mask.width}x${s.mask.height}` +
        (t ? `, teacher ${teacherPath} ${t.width}x${t.height}` : ''),
    );
  }
  return { width: vi.width, height: vi.height, ir: grayBytes(ir), vi: rgbBytes(vi), sig: s, ...(t ? { teacher: grayBytes(t) } : {}) };
}

function grayBytes(img: Image8): Uint8Array {
  return img.channels === 1 ? img.data : Uint8Array.from(toGray(img).data);
}

function rgbBytes(img: Image8): Uint8Array {
  if (img.channels === 3) return img.data;
  const out = new Uint8Array(img.data.length * 3);
  for (let i = 0; i < img.data.length; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = img.data[i];
  return out;
}

/** A batch as flat NHWC float arrays in 0..1 (mask 0/1), ready for tensors. */
export interface Batch {
  size: number;
  crop: number;
  ir: Float32Array;
  vi: Float32Array;
  mask: Float32Array;
  text: Float32Array;
  textEncoderId: string;
  stems: string[];
  /** The teacher's fused luminance [n, crop, crop] in 0..1 (same crops and flips), when the run has a teacher (then every sample has one). */
  teacher?: Float32Array;
}

/** Everything a resumed sampler needs. */
export interface SamplerState {
  rng: RngState;
  order: number[];
  cursor: number;
  epoch: number;
}

export interface SamplerOptions {
  batch: number;
  crop: number;
  seed: number;
  /** Decoded pairs kept in memory (MSRS train: 1083 pairs, about 1.7 GB if all are kept). */
  cacheSize?: number;
  /** Per-sample gamma of IR and VI (./augment.ts); absent: none, and no RNG draws for it. */
  augment?: GammaAugment;
}

const IDENTITY = gammaTable(1);

/**
 * Epoch-wise random order over the pairs; per sample a random crop, random horizontal and
 * vertical flips (p = 0.5 each) and, with `augment`, a gamma for IR and one for VI (drawn after the
 * flips, so runs without it draw the same sequence as before it existed).
 */
export class BatchSampler {
  private rng: Rng;
  private order: number[];
  private cursor: number;
  private epoch: number;
  private readonly cache = new Map<number, TrainSample>();

  constructor(
    private readonly pairs: TrainPair[],
    private readonly load: (p: TrainPair) => Promise<TrainSample>,
    private readonly opts: SamplerOptions,
    state?: SamplerState,
  ) {
    if (!(opts.batch >= 1 && opts.crop >= 1)) throw new UsageError(`batch and crop must be >= 1, got ${opts.batch}, ${opts.crop}`);
    if (state) {
      if (state.order.length !== pairs.length) {
        throw new MismatchError(`the checkpoint was made on ${state.order.length} training pairs, the data folder has ${pairs.length}`);
      }
      this.rng = Rng.fromState(state.rng);
      this.order = [...state.order];
      this.cursor = state.cursor;
      this.epoch = state.epoch;
    } else {
      this.rng = Rng.fromSeed(opts.seed);
      this.order = this.rng.permutation(pairs.length);
      this.cursor = 0;
      this.epoch = 0;
    }
  }

  state(): SamplerState {
    return { rng: this.rng.state(), order: [...this.order], cursor: this.cursor, epoch: this.epoch };
  }

  async next(): Promise<Batch> {
    const { batch: n, crop } = this.opts;
    const px = crop * crop;
    const out: Batch = {
      size: n,
      crop,
      ir: new Float32Array(n * px),
      vi: new Float32Array(n * px * 3),
      mask: new Float32Array(n * px),
      text: new Float32Array(0),
      textEncoderId: '',
      stems: [],
    };
    let teacher: Float32Array | undefined;
    for (let b = 0; b < n; b++) {
      if (this.cursor >= this.order.length) {
        this.order = this.rng.permutation(this.pairs.length);
        this.cursor = 0;
        this.epoch += 1;
      }
      const index = this.order[this.cursor++];
      const s = await this.sample(index);
      if (s.width < crop || s.height < crop) {
        throw new InputError(this.pairs[index].irPath, `${s.width}x${s.height} is smaller than the ${crop}x${crop} crop; use a smaller --crop`);
      }
      const x0 = this.rng.int(s.width - crop + 1);
      const y0 = this.rng.int(s.height - crop + 1);
      const flipH = this.rng.next() < 0.5;
      const flipV = this.rng.next() < 0.5;
      const aug = this.opts.augment;
      const irTable = aug ? gammaTable(drawGamma(this.rng, aug.ir)) : IDENTITY;
      const viTable = aug ? gammaTable(drawGamma(this.rng, aug.vi)) : IDENTITY;
      for (let y = 0; y < crop; y++) {
        const sy = y0 + (flipV ? crop - 1 - y : y);
        for (let x = 0; x < crop; x++) {
          const src = sy * s.width + x0 + (flipH ? crop - 1 - x : x);
          const dst = b * px + y * crop + x;
          out.ir[dst] = irTable[s.ir[src]];
          out.mask[dst] = s.sig.mask.data[src] ? 1 : 0;
          if (s.teacher) (teacher ??= new Float32Array(n * px))[dst] = s.teacher[src] / 255;
          for (let c = 0; c < 3; c++) out.vi[dst * 3 + c] = viTable[s.vi[src * 3 + c]];
        }
      }
      if (b === 0) {
        out.text = new Float32Array(n * s.sig.embedding.length);
        out.textEncoderId = s.sig.textEncoderId;
      } else if (s.sig.textEncoderId !== out.textEncoderId || s.sig.embedding.length * n !== out.text.length) {
        throw new MismatchError(`${this.pairs[index].stem}: text embedding from '${s.sig.textEncoderId}', others in the batch from '${out.textEncoderId}'`);
      }
      out.text.set(s.sig.embedding, b * s.sig.embedding.length);
      out.stems.push(this.pairs[index].stem);
    }
    if (teacher) out.teacher = teacher;
    return out;
  }

  private async sample(index: number): Promise<TrainSample> {
    const hit = this.cache.get(index);
    if (hit) return hit;
    const s = await this.load(this.pairs[index]);
    const cap = this.opts.cacheSize ?? Infinity;
    if (this.cache.size >= cap) this.cache.delete(this.cache.keys().next().value!);
    if (cap > 0) this.cache.set(index, s);
    return s;
  }
}
