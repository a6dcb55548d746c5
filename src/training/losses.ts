import { tf } from '../model/tfjs.js';
import { rgbToCbCr, rgbToY } from '../model/color.js';

/**
 * The fusion losses (paper sec. 3.1: SSIM, gradient, intensity and colour; formulations as the
 * field's common code, e.g. Text-IF / TarDAL / CDDFuse). All images are NHWC in 0..1; the
 * intensity, SSIM and gradient terms work on luminance Y.
 */

import { DEFAULT_LOSS_WEIGHTS, type LossWeights } from './loss-weights.js';

export { DEFAULT_LOSS_WEIGHTS, type LossWeights };

export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;

/** The normalised 1-D Gaussian window. */
export function gaussianWindow(size = SSIM_WINDOW, sigma = SSIM_SIGMA): Float32Array {
  const w = new Float32Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    w[i] = Math.exp(-((i - (size - 1) / 2) ** 2) / (2 * sigma * sigma));
    sum += w[i];
  }
  for (let i = 0; i < size; i++) w[i] /= sum;
  return w;
}

/** Separable Gaussian filter, 'valid' (no padding), on [B,H,W,1]. */
function gaussianBlur(x: tf.Tensor4D): tf.Tensor4D {
  const g = gaussianWindow();
  return tf.tidy(() => {
    const rows = tf.conv2d(x, tf.tensor4d(g, [SSIM_WINDOW, 1, 1, 1]), 1, 'valid');
    return tf.conv2d(rows, tf.tensor4d(g, [1, SSIM_WINDOW, 1, 1]), 1, 'valid');
  });
}

/**
 * Mean SSIM (Wang et al. 2004) of two one-channel batches [B,H,W,1] in 0..1: Gaussian window 11,
 * sigma 1.5, C1 = 0.01^2, C2 = 0.03^2, valid positions only (as pytorch-msssim and skimage).
 */
export function ssim(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  if (a.shape[1]! < SSIM_WINDOW || a.shape[2]! < SSIM_WINDOW) {
    throw new Error(`ssim needs images of at least ${SSIM_WINDOW}x${SSIM_WINDOW}, got ${a.shape[2]}x${a.shape[1]}`);
  }
  return tf.tidy(() => {
    const x = a as tf.Tensor4D;
    const y = b as tf.Tensor4D;
    const muX = gaussianBlur(x);
    const muY = gaussianBlur(y);
    const muXX = tf.square(muX);
    const muYY = tf.square(muY);
    const muXY = tf.mul(muX, muY);
    const sXX = tf.sub(gaussianBlur(tf.square(x)), muXX);
    const sYY = tf.sub(gaussianBlur(tf.square(y)), muYY);
    const sXY = tf.sub(gaussianBlur(tf.mul(x, y)), muXY);
    const num = tf.mul(tf.add(tf.mul(muXY, 2), C1), tf.add(tf.mul(sXY, 2), C2));
    const den = tf.mul(tf.add(tf.add(muXX, muYY), C1), tf.add(tf.add(sXX, sYY), C2));
    return tf.mean(tf.div(num, den)) as tf.Scalar;
  });
}

/** (1 - SSIM(F, IR)) + (1 - SSIM(F, VI_Y)): 0 when F equals both sources. */
export function ssimLoss(fused: tf.Tensor, ir: tf.Tensor, viY: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sub(2, tf.add(ssim(fused, ir), ssim(fused, viY))) as tf.Scalar);
}

const SOBEL_X = [-1, 0, 1, -2, 0, 2, -1, 0, 1];
const SOBEL_Y = [-1, -2, -1, 0, 0, 0, 1, 2, 1];

/**
 * Sobel gradient magnitude in the L1 form |Gx| + |Gy| (as TarDAL, CDDFuse and Text-IF compute it;
 * the Euclidean form's gradient is undefined at 0), zero padding so the size is kept. [B,H,W,1].
 */
export function sobelMagnitude(x: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const k = new Float32Array(18); // [3, 3, 1, 2]: Gx and Gy as two output channels
    for (let p = 0; p < 9; p++) [k[2 * p], k[2 * p + 1]] = [SOBEL_X[p], SOBEL_Y[p]];
    const g = tf.conv2d(x as tf.Tensor4D, tf.tensor4d(k, [3, 3, 1, 2]), 1, 1);
    return tf.sum(tf.abs(g), -1, true) as tf.Tensor4D;
  });
}

/** L1 between the fused gradient and the elementwise max of the sources' gradients. */
export function gradientLoss(fused: tf.Tensor, ir: tf.Tensor, viY: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const target = tf.maximum(sobelMagnitude(ir), sobelMagnitude(viY));
    return tf.mean(tf.abs(tf.sub(sobelMagnitude(fused), target))) as tf.Scalar;
  });
}

/** L1 between the fused intensity and max(IR, VI_Y). */
export function intensityLoss(fused: tf.Tensor, ir: tf.Tensor, viY: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(fused, tf.maximum(ir, viY)))) as tf.Scalar);
}

/** L1 between the CbCr of the fused RGB and of the VI RGB ([B,H,W,3] each). */
export function colorLoss(fusedRgb: tf.Tensor, viRgb: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(rgbToCbCr(fusedRgb), rgbToCbCr(viRgb)))) as tf.Scalar);
}

export interface LossTerms<T> {
  total: T;
  ssim: T;
  intensity: T;
  gradient: T;
  color: T;
}

/**
 * The weighted sum for a network output. `output` 'y': the fused image is the predicted Y with VI's
 * CbCr, so its chroma equals VI's by construction and the colour term is identically 0 (reported
 * as 0, not computed). 'rgb': the colour term compares the predicted RGB's CbCr with VI's.
 */
export function fusionLoss(
  out: tf.Tensor,
  output: 'y' | 'rgb',
  ir: tf.Tensor,
  viRgb: tf.Tensor,
  w: LossWeights = DEFAULT_LOSS_WEIGHTS,
): LossTerms<tf.Scalar> {
  return tf.tidy((): tf.TensorContainer => {
    const viY = rgbToY(viRgb);
    const fusedY = output === 'rgb' ? rgbToY(out) : out;
    const terms = {
      ssim: ssimLoss(fusedY, ir, viY),
      intensity: intensityLoss(fusedY, ir, viY),
      gradient: gradientLoss(fusedY, ir, viY),
      color: output === 'rgb' ? colorLoss(out, viRgb) : tf.scalar(0),
    };
    const total = tf.addN([
      tf.mul(terms.ssim, w.ssim),
      tf.mul(terms.intensity, w.intensity),
      tf.mul(terms.gradient, w.gradient),
      tf.mul(terms.color, w.color),
    ]) as tf.Scalar;
    return { total, ...terms };
  }) as unknown as LossTerms<tf.Scalar>;
}
