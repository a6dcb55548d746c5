/**
 * The metric registry: one entry per metric with its table direction and a one-line description.
 * The CLI (`tesg eval`) and the browser page both use it, so nothing here may import Node modules.
 */
import type { MetricInfo } from './types.js';
import { EN } from './en.js';
import { SD } from './sd.js';
import { SF } from './sf.js';
import { AG } from './ag.js';
import { MI } from './mi.js';
import { MSE } from './mse.js';
import { CC } from './cc.js';
import { PSNR } from './psnr.js';
import { SCD } from './scd.js';
import { VIF } from './vif.js';
import { Qabf } from './qabf.js';
import { SSIM, SSIM_cddfuse } from './ssim.js';

export type { MetricFn, MetricInfo } from './types.js';
export { EN, SD, SF, AG, MI, MSE, CC, PSNR, SCD, VIF, Qabf, SSIM, SSIM_cddfuse };

/** Every metric, in the column order tables use. */
export const METRICS: readonly MetricInfo[] = [
  { name: 'EN', higherIsBetter: true, compute: EN, description: 'entropy (bits) of the fused gray histogram: information content' },
  { name: 'SD', higherIsBetter: true, compute: SD, description: 'standard deviation of the fused image: contrast' },
  { name: 'SF', higherIsBetter: true, compute: SF, description: 'spatial frequency: RMS of neighbour differences, detail and sharpness' },
  { name: 'AG', higherIsBetter: true, compute: AG, description: 'average gradient (numpy convention, mean over H*W): detail and sharpness' },
  { name: 'MI', higherIsBetter: true, compute: MI, description: 'mutual information (nats) of the fused image with IR plus with VI' },
  { name: 'MSE', higherIsBetter: false, compute: MSE, description: 'mean squared error to IR and to VI, averaged (lower is better)' },
  { name: 'CC', higherIsBetter: true, compute: CC, description: 'Pearson correlation with IR and with VI, averaged' },
  { name: 'PSNR', higherIsBetter: true, compute: PSNR, description: 'PSNR (dB) from the MSE above with peak = max of the fused image' },
  { name: 'SCD', higherIsBetter: true, compute: SCD, description: 'sum of correlations of differences: corr(F-VI, IR) + corr(F-IR, VI)' },
  { name: 'VIF', higherIsBetter: true, compute: VIF, description: 'visual information fidelity (pixel domain, 4 scales): VIF(IR,F) + VIF(VI,F)' },
  { name: 'Qabf', higherIsBetter: true, compute: Qabf, description: 'edge strength and orientation preserved from the sources (Xydeas-Petrovic)' },
  { name: 'SSIM', higherIsBetter: true, compute: SSIM, description: 'ssim(F,IR) + ssim(F,VI), scikit-image defaults, data range 255' },
  {
    name: 'SSIM_cddfuse',
    higherIsBetter: true,
    compute: SSIM_cddfuse,
    description: 'compatibility: SSIM as the CDDFuse evaluator prints it (data range 2, constants ~0)',
  },
];

/** What `tesg eval` computes unless told otherwise: all but the compatibility variant. */
export const DEFAULT_METRIC_NAMES: readonly string[] = METRICS.filter((m) => m.name !== 'SSIM_cddfuse').map((m) => m.name);

/** Look a metric up by name, case-insensitively; undefined when unknown. */
export function findMetric(name: string): MetricInfo | undefined {
  const key = name.toLowerCase();
  return METRICS.find((m) => m.name.toLowerCase() === key);
}
