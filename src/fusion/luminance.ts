import { planeToGray8, recolor, lumaPlane, toGray } from '../image/color.js';
import { assertSameSize } from '../image/read.js';
import type { Image8 } from '../image/types.js';
import type { FuseOptions } from './registry.js';

/** Combines two equal-size luminance planes (0..255 floats, row-major) into one. */
export type PlaneCombiner = (ir: Float64Array, vi: Float64Array, width: number, height: number) => Float64Array;

/**
 * The shared frame of the classic methods: take IR's gray and VI's luminance, combine them, and
 * return gray or recoloured with VI's chroma (see FuseOptions.gray). In gray mode the planes are the
 * reference gray (integers, as the evaluator reads images) so a baseline's output scores exactly as
 * the reference tools' baselines do; in colour mode they are the unrounded Y.
 */
export function fuseLuminance(ir: Image8, vi: Image8, opts: FuseOptions, combine: PlaneCombiner): Image8 {
  assertSameSize(ir, 'the IR image', vi, 'the VI image');
  const { width, height } = vi;
  if (opts.gray) return planeToGray8(combine(toGray(ir).data, toGray(vi).data, width, height), width, height);
  const fused = combine(Float64Array.from(lumaPlane(ir)), Float64Array.from(lumaPlane(vi)), width, height);
  return recolor(fused, vi);
}
