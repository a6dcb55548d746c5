import { tf } from '../model/tfjs.js';

/**
 * Gradient-norm clipping as torch.nn.utils.clip_grad_norm_ (max_norm, L2 over all parameters):
 * every gradient is multiplied by min(1, maxNorm / (norm + 1e-6)). Applied by the trainer to the
 * gradients any backend (tfjs or libtorch) hands back, so it is the same code on both.
 */

/**
 * sqrt of the sum of squares of all gradients (the L2 norm of their concatenation), summed in the
 * order given: pass them in a fixed order (the trainer sorts by name) for a bit-identical result.
 */
export function globalNorm(grads: tf.Tensor[]): number {
  return tf.tidy(() => Math.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
}

/** The factor torch applies: min(1, maxNorm / (norm + 1e-6)); 1 when maxNorm is 0 (clipping off). */
export function clipScale(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/** Multiplies every gradient in the map by `scale` in place (the old tensors are disposed). */
export function scaleGradients(grads: Map<string, tf.Tensor>, scale: number): void {
  for (const [name, g] of grads) {
    grads.set(name, tf.mul(g, scale));
    g.dispose();
  }
}
