import { InputError, MismatchError } from '../errors.js';
import type { GrayImage } from '../image/types.js';

/**
 * The input check every metric starts with (never switched off, unlike an assert): each image is a
 * well-formed GrayImage with values in 0..255, all three have the same size, and the size is at least
 * what the metric needs. Errors name the metric and the image role (fused/ir/vi); `tesg eval`
 * re-raises them with file names.
 */
export function checkTriple(metric: string, fused: GrayImage, ir: GrayImage, vi: GrayImage, minSide = 2): void {
  const roles: [string, GrayImage][] = [['fused', fused], ['ir', ir], ['vi', vi]];
  for (const [role, img] of roles) checkShape(metric, role, img);
  for (const [role, img] of roles.slice(1)) {
    if (img.width !== fused.width || img.height !== fused.height) {
      throw new MismatchError(
        `${metric}: fused is ${fused.width}x${fused.height} but ${role} is ${img.width}x${img.height}; ` +
          'the fused image and both sources must have the same size',
      );
    }
  }
  if (fused.width < minSide || fused.height < minSide) {
    throw new InputError('fused', `${metric}: image is ${fused.width}x${fused.height}; this metric needs at least ${minSide}x${minSide}`);
  }
  for (const [role, img] of roles) checkValues(metric, role, img);
}

function checkShape(metric: string, role: string, img: GrayImage): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || data.length !== width * height) {
    throw new InputError(role, `${metric}: expected ${width}x${height} = ${width * height} gray values, got ${data.length}`);
  }
}

function checkValues(metric: string, role: string, img: GrayImage): void {
  const { width, data } = img;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // Written so NaN fails too.
    if (!(v >= 0 && v <= 255)) {
      throw new InputError(
        role,
        `${metric}: gray value ${v} at (x=${i % width}, y=${Math.floor(i / width)}) is outside 0..255; metrics expect 8-bit gray as float`,
      );
    }
  }
}
