import type { GrayImage } from '../image/types.js';

/**
 * Every metric has this one signature (as piq): the fused image first, then the two sources.
 * Single-image metrics (EN, SD, SF, AG) ignore the sources but still check them, so a caller
 * can treat all metrics alike.
 */
export type MetricFn = (fused: GrayImage, ir: GrayImage, vi: GrayImage) => number;

export interface MetricInfo {
  /** Column name as in the papers' tables (EN, SD, ..., Qabf). */
  name: string;
  /** Direction for "best" in tables: MSE is the one lower-is-better metric here. */
  higherIsBetter: boolean;
  /** One line: what it measures and the convention used. */
  description: string;
  compute: MetricFn;
}
