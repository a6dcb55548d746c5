/**
 * The SIG detector on onnxruntime (Node): the MB3-CenterNet graph of ./centernet.ts converted to ONNX
 * (./centernet-onnx.ts), with the same input sizing, decode and NMS, so its detections are the tfjs
 * graph's (test/semantics-centernet-onnx.test.ts holds them equal on real pairs).
 *
 * Why: tfjs-wasm runs single-threaded in Node and a cold process pays 0.16 s to import tfjs, set up
 * wasm and load the graph, then a first run of 0.4 s; onnxruntime runs the same graph natively on all
 * cores in about a third of the time (docs/sig.md, `npm run bench -- sig`).
 *
 * The converted model is cached as `.tesg-cache/centernet-mb3-<human version>-c<converter>.onnx` in
 * the package root (written atomically; `npm ci` makes it through `npm run build:detector`), or in
 * the user's cache folder (`$XDG_CACHE_HOME/tesg`, `~/.cache/tesg`) where the package is read-only;
 * when missing it is converted in memory (about 0.3 s) and written for the next process.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Image8 } from '../image/types.js';
import { OnnxModel } from '../runtime/onnx.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { GraphManifest } from './centernet.js';
import { centerNetInputSize, detectionsFromHeads, type CenterNetHeads, type Detection, type DetectOptions } from './centernet-decode.js';
import { centernetModelPath } from './centernet-files.js';
import { InputError } from '../errors.js';

/** Bump when centernet-onnx.ts changes what it writes: older cache files are then ignored. */
export const CONVERTER_VERSION = 2; // 2: uint8 image input (1 or 3 channels), cell_max output
const PACKAGE_CACHE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '.tesg-cache');

/**
 * The cache file for the CenterNet graph at `modelJson`: named by the human package's version (or
 * 'unknown') and the first 8 hex digits of model.json's SHA-256 (it lists every weight's name, shape
 * and byte range), so another model or version never reads this one's conversion.
 */
export function detectorOnnxPath(modelJson = centernetModelPath(), dir = PACKAGE_CACHE_DIR): string {
  return path.join(dir, detectorOnnxName(modelJson));
}

/** The cache file's name (detectorOnnxPath): reads and hashes model.json, so computed once per lookup. */
function detectorOnnxName(modelJson: string): string {
  let version = 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(path.join(path.dirname(modelJson), '..', 'package.json'), 'utf8')) as { version?: string };
    version = pkg.version ?? version;
  } catch {
    // a model.json outside the human package: the hash alone tells it apart
  }
  let hash = 'nofile';
  try {
    hash = createHash('sha256').update(readFileSync(modelJson)).digest('hex').slice(0, 8);
  } catch {
    // unreadable: detectorOnnxBytes reports it when it reads the file
  }
  return `centernet-mb3-${version}-${hash}-c${CONVERTER_VERSION}.onnx`;
}

/** The user's cache folder for tesg: $XDG_CACHE_HOME/tesg, else ~/.cache/tesg. */
export function userCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'tesg');
}

let warnedUncached = false;

/**
 * The ONNX bytes of the CenterNet graph: the cache file if present (the package's `.tesg-cache/`, else
 * the user's cache folder, for a package installed read-only), else converted now and cached in the
 * first of the two that takes the write (neither: one warning per process, and a conversion per run).
 * Errors: InputError naming model.json or a weight file that cannot be read.
 */
export async function detectorOnnxBytes(modelJson = centernetModelPath()): Promise<{ bytes: Uint8Array; file: string; converted: boolean }> {
  const name = detectorOnnxName(modelJson);
  const candidates = [path.join(PACKAGE_CACHE_DIR, name), path.join(userCacheDir(), name)];
  for (const file of candidates) if (existsSync(file)) return { bytes: await fs.readFile(file), file, converted: false };
  let manifest: GraphManifest;
  try {
    manifest = JSON.parse(await fs.readFile(modelJson, 'utf8')) as GraphManifest;
  } catch (err) {
    throw new InputError(modelJson, `cannot read the detector model (${(err as Error).message}); reinstall dependencies with npm ci`);
  }
  const dir = path.dirname(modelJson);
  const parts: Uint8Array[] = [];
  for (const p of manifest.weightsManifest.flatMap((g) => g.paths)) {
    const f = path.join(dir, p);
    parts.push(await fs.readFile(f).catch((err: Error) => Promise.reject(new InputError(f, `cannot read the detector weights (${err.message}); reinstall dependencies with npm ci`))));
  }
  const { centerNetToOnnx } = await import('./centernet-onnx.js');
  const bytes = centerNetToOnnx(manifest, parts);
  for (const file of candidates) {
    try {
      await writeFileAtomic(file, bytes);
      return { bytes, file, converted: true };
    } catch {
      // not writable (a read-only install): the next candidate
    }
  }
  if (!warnedUncached) {
    warnedUncached = true;
    process.stderr.write(`tesg: warning: cannot write the converted detector to ${candidates.join(' or ')}; it is converted on every run (about 0.3 s) until one of them is writable\n`);
  }
  return { bytes, file: candidates[0], converted: true };
}

export interface OnnxDetectorOptions {
  /** onnxruntime intra-op threads (default: all cores). 1 where the process keeps every core busy already. */
  threads?: number;
  /** CenterNet model.json (default: the one in node_modules/@vladmandic/human/models). */
  modelJson?: string;
}

/** CenterNet on onnxruntime, behind the SIG's ObjectDetector surface (detect, dispose). */
export class OnnxCenterNetDetector {
  private constructor(private readonly model: OnnxModel) {}

  /**
   * Loads the cached conversion (made now if missing). A cache file that does not load (cut short
   * by a crash or a full disk) is converted again and replaced, with one warning line on stderr.
   */
  static async load(opts: OnnxDetectorOptions = {}): Promise<OnnxCenterNetDetector> {
    const got = await detectorOnnxBytes(opts.modelJson);
    const options = { threads: opts.threads, spinning: false };
    try {
      return new OnnxCenterNetDetector(await OnnxModel.fromBytes(got.bytes, got.file, options));
    } catch (err) {
      if (got.converted) throw err;
      process.stderr.write(`tesg: warning: ${(err as Error).message.split('\n')[0]}; converting the detector again\n`);
      await fs.rm(got.file, { force: true });
      const again = await detectorOnnxBytes(opts.modelJson);
      return new OnnxCenterNetDetector(await OnnxModel.fromBytes(again.bytes, again.file, options));
    }
  }

  /** As CenterNet.detect: boxes in image pixels, best first. A 1-channel (IR) image is replicated to RGB. */
  async detect(img: Image8, opts: DetectOptions = {}): Promise<Detection[]> {
    const h = await this.heads(img, opts.inputLong);
    return detectionsFromHeads(h.keypoints, h.wh, h.grid, opts, h.cellMax);
  }

  /** As CenterNet.heads (the same sizing and layout), plus `cellMax`, the graph's per-cell class maximum. */
  async heads(img: Image8, inputLong = 640): Promise<CenterNetHeads> {
    const { w, h } = centerNetInputSize(img.width, img.height, inputLong);
    const out = await this.model.run({ image: { dims: [1, img.height, img.width, img.channels], data: img.data }, sizes: { dims: [4], data: [1, 3, h, w] } });
    const [, gh, gw, nc] = out.keypoints.dims;
    const grid = { gh, gw, nc, sx: img.width / w, sy: img.height / h };
    return { keypoints: out.keypoints.data as Float32Array, wh: out.wh.data as Float32Array, grid, cellMax: out.cell_max.data as Float32Array };
  }

  async dispose(): Promise<void> {
    await this.model.release();
  }
}
