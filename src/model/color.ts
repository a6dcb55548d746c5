import { tf } from './tfjs.js';

/**
 * BT.601 RGB <-> YCbCr on 0..1 tensors [..., 3], with OpenCV's constants (cv2.COLOR_RGB2YCrCb, the
 * conversion the fusion literature uses): Y = 0.299 R + 0.587 G + 0.114 B, Cr = 0.713 (R - Y) + 0.5,
 * Cb = 0.564 (B - Y) + 0.5. Channel order of the result: Y, Cb, Cr.
 */
const KR = 0.713;
const KB = 0.564;

export function rgbToY(rgb: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [r, g, b] = tf.split(rgb, 3, -1);
    return tf.addN([tf.mul(r, 0.299), tf.mul(g, 0.587), tf.mul(b, 0.114)]);
  });
}

/** [..., 3] RGB -> [..., 2] (Cb, Cr). */
export function rgbToCbCr(rgb: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [r, , b] = tf.split(rgb, 3, -1);
    const y = rgbToY(rgb);
    return tf.concat([tf.add(tf.mul(tf.sub(b, y), KB), 0.5), tf.add(tf.mul(tf.sub(r, y), KR), 0.5)], -1);
  });
}

/** Y [..., 1] and CbCr [..., 2] -> RGB [..., 3] (the exact inverse of the above, not clamped). */
export function yCbCrToRgb(y: tf.Tensor, cbcr: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [cb, cr] = tf.split(tf.sub(cbcr, 0.5), 2, -1);
    const r = tf.add(y, tf.div(cr, KR));
    const b = tf.add(y, tf.div(cb, KB));
    const g = tf.div(tf.sub(tf.sub(y, tf.mul(r, 0.299)), tf.mul(b, 0.114)), 0.587);
    return tf.concat([r, g, b], -1);
  });
}
