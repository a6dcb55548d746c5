import { sharp } from '../image/sharp.js';
import { InputError, MismatchError } from '../errors.js';
import { readImage } from '../image/read.js';
import type { Image8 } from '../image/types.js';
import { countUnmatched, describeUnmatched, pairByStem } from '../util/pairing.js';
import { createProgress } from '../util/progress.js';

/**
 * Image/label pairs for the segmentation benchmark, held in memory at the network's resolution.
 * Images: any readable format, gray replicated to 3 channels, resized with sharp's default
 * (Lanczos) filter. Labels: 8-bit class indices, resized with nearest neighbour (a label must stay a
 * label), or kept at full resolution for scoring.
 */
export interface SegSet {
  stems: string[];
  width: number;
  height: number;
  /** N x H x W x 3, uint8. */
  images: Uint8Array;
  /** N x labelH x labelW class indices. */
  labels: Uint8Array;
  labelWidth: number;
  labelHeight: number;
}

export interface LoadOptions {
  imagesDir: string;
  labelsDir: string;
  width: number;
  height: number;
  classes: number;
  /** true: labels resized to width x height (training); false: labels at the image's own size (scoring). */
  resizeLabels: boolean;
  quiet?: boolean;
}

async function resizeRaw(data: Uint8Array, w: number, h: number, c: 1 | 3, tw: number, th: number, nearest: boolean): Promise<Uint8Array> {
  if (w === tw && h === th) return data;
  const out = await sharp(data, { raw: { width: w, height: h, channels: c } })
    .resize(tw, th, { fit: 'fill', kernel: nearest ? 'nearest' : 'lanczos3' })
    // Without this sharp returns 1-channel raw input as 3-channel sRGB.
    .toColourspace(c === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer();
  if (out.length !== tw * th * c) throw new Error(`resize returned ${out.length} bytes, expected ${tw * th * c}`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function toRgb(img: Image8): Uint8Array {
  if (img.channels === 3) return img.data;
  const out = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = img.data[i];
  return out;
}

/** Class indices from a label image: 1 channel, or 3 equal channels; values must be < classes. */
export function labelIndices(img: Image8, file: string, classes: number): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = img.data[i * img.channels];
    if (img.channels === 3 && (img.data[3 * i + 1] !== v || img.data[3 * i + 2] !== v)) {
      throw new InputError(file, 'label image is colour; expected class indices 0..8 stored as gray (MSRS train/label layout)');
    }
    if (v >= classes) throw new InputError(file, `label value ${v} at pixel ${i}; expected class indices 0..${classes - 1}`);
    out[i] = v;
  }
  return out;
}

export async function loadSegSet(opts: LoadOptions): Promise<SegSet> {
  const pairing = await pairByStem({ images: opts.imagesDir, labels: opts.labelsDir });
  if (countUnmatched(pairing.unmatched) > 0) {
    throw new MismatchError(
      `${countUnmatched(pairing.unmatched)} image(s) without a partner between ${opts.imagesDir} and ${opts.labelsDir}: ${describeUnmatched(pairing.unmatched)}; every image needs a label with the same name stem`,
    );
  }
  if (pairing.matched.length === 0) throw new InputError(opts.imagesDir, `no images with labels in ${opts.labelsDir}`);
  const n = pairing.matched.length;
  const { width: w, height: h } = opts;
  const images = new Uint8Array(n * w * h * 3);
  let labels: Uint8Array | null = null;
  let lw = 0, lh = 0;
  const progress = opts.quiet ? null : createProgress({ label: `reading ${opts.imagesDir}`, total: n });
  for (let i = 0; i < n; i++) {
    const { images: imgFile, labels: labFile } = pairing.matched[i].files;
    const [img, lab] = await Promise.all([readImage(imgFile), readImage(labFile)]);
    if (img.width !== lab.width || img.height !== lab.height) {
      throw new MismatchError(`size mismatch: ${imgFile} is ${img.width}x${img.height} but ${labFile} is ${lab.width}x${lab.height}`);
    }
    images.set(await resizeRaw(toRgb(img), img.width, img.height, 3, w, h, false), i * w * h * 3);
    let idx = labelIndices(lab, labFile, opts.classes);
    if (opts.resizeLabels) idx = await resizeRaw(idx, lab.width, lab.height, 1, w, h, true);
    const [tw, th] = opts.resizeLabels ? [w, h] : [lab.width, lab.height];
    if (labels === null) {
      [lw, lh] = [tw, th];
      labels = new Uint8Array(n * lw * lh);
    } else if (tw !== lw || th !== lh) {
      throw new MismatchError(`${labFile} is ${tw}x${th} but earlier labels are ${lw}x${lh}; test labels must share one size`);
    }
    labels.set(idx, i * lw * lh);
    progress?.tick();
  }
  progress?.done();
  return { stems: pairing.matched.map((m) => m.stem), width: w, height: h, images, labels: labels!, labelWidth: lw, labelHeight: lh };
}
