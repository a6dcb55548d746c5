/**
 * Image8 -> pixel_values as the folder's preprocessor_config.json says (Hugging Face image
 * processors: ViTImageProcessor, BlipImageProcessor): resize to size (height x width, or
 * shortest_edge then centre crop), rescale by rescale_factor (1/255), normalise with
 * image_mean / image_std. Resampling is bilinear here; BLIP's processor uses bicubic, a small
 * difference in pixel values that greedy captions rarely notice.
 */
import type { Image8 } from '../../image/types.js';
import { InputError } from '../../errors.js';
import { toPlanarRgb } from '../diffusion/image.js';
import { resizeBilinear } from '../diffusion/resize.js';

export interface ImagePreprocess {
  height: number;
  width: number;
  /** Resize the short side to this, then centre-crop height x width (CLIP-style processors). */
  shortestEdge?: number;
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export function readPreprocess(cfg: Record<string, unknown>, file: string): ImagePreprocess {
  const size = cfg.size as number | { height?: number; width?: number; shortest_edge?: number } | undefined;
  const crop = cfg.crop_size as number | { height?: number; width?: number } | undefined;
  let height: number | undefined;
  let width: number | undefined;
  let shortestEdge: number | undefined;
  if (typeof size === 'number') height = width = size;
  else if (size && typeof size.shortest_edge === 'number') {
    shortestEdge = size.shortest_edge;
    const c = typeof crop === 'number' ? { height: crop, width: crop } : crop;
    height = c?.height ?? shortestEdge;
    width = c?.width ?? shortestEdge;
  } else if (size) ({ height, width } = size);
  if (!(height! > 0 && width! > 0)) throw new InputError(file, `cannot read the image size from "size": ${JSON.stringify(size)}`);
  const triple = (v: unknown, fallback: number): [number, number, number] => {
    if (typeof v === 'number') return [v, v, v];
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number')) return v as [number, number, number];
    if (v === undefined) return [fallback, fallback, fallback];
    throw new InputError(file, `expected 3 numbers, got ${JSON.stringify(v)}`);
  };
  const normalize = cfg.do_normalize !== false;
  return {
    height: height!,
    width: width!,
    shortestEdge,
    rescale: cfg.do_rescale === false ? 1 : typeof cfg.rescale_factor === 'number' ? cfg.rescale_factor : 1 / 255,
    mean: normalize ? triple(cfg.image_mean, 0.5) : [0, 0, 0],
    std: normalize ? triple(cfg.image_std, 0.5) : [1, 1, 1],
  };
}

/** Planar [3, height, width] float pixel values. */
export function toPixelValues(img: Image8, p: ImagePreprocess): Float32Array {
  let rgb = toPlanarRgb(img);
  let h = img.height;
  let w = img.width;
  if (p.shortestEdge !== undefined) {
    const s = p.shortestEdge / Math.min(h, w);
    const [nh, nw] = [Math.max(p.height, Math.round(h * s)), Math.max(p.width, Math.round(w * s))];
    rgb = resizeBilinear(rgb, 3, h, w, nh, nw);
    rgb = centreCrop(rgb, nh, nw, p.height, p.width);
  } else {
    rgb = resizeBilinear(rgb, 3, h, w, p.height, p.width);
  }
  h = p.height;
  w = p.width;
  const n = h * w;
  for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) rgb[c * n + i] = (rgb[c * n + i] * p.rescale - p.mean[c]) / p.std[c];
  return rgb;
}

function centreCrop(src: Float32Array, h: number, w: number, ch: number, cw: number): Float32Array {
  const top = Math.floor((h - ch) / 2);
  const left = Math.floor((w - cw) / 2);
  const out = new Float32Array(3 * ch * cw);
  for (let c = 0; c < 3; c++) for (let y = 0; y < ch; y++) out.set(src.subarray(c * h * w + (top + y) * w + left, c * h * w + (top + y) * w + left + cw), c * ch * cw + y * cw);
  return out;
}
