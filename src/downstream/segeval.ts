import { tf } from '../runtime/tfjs-node.cjs';
import { createProgress } from '../util/progress.js';
import { ConfusionMatrix, segmentationScores, type SegmentationScores } from './iou.js';
import type { SegSet } from './segdata.js';
import { INPUT_MEAN, INPUT_STD, segForward, type SegNetConfig, type SegParams } from './segnet.js';

/**
 * Score the network on a test set: logits at the network's resolution, bilinearly upsampled to the
 * label resolution (full 640x480 for MSRS), argmax, one confusion matrix over all test pixels.
 */
export async function evaluateSegmentation(params: SegParams, net: SegNetConfig, set: SegSet, quiet = false): Promise<SegmentationScores & { confusion: number[] }> {
  const cm = new ConfusionMatrix(net.classes);
  const { width: w, height: h, labelWidth: lw, labelHeight: lh } = set;
  const progress = quiet ? null : createProgress({ label: 'segment test', total: set.stems.length });
  for (let i = 0; i < set.stems.length; i++) {
    const pred = tf.tidy(() => {
      const img = tf.tensor4d(set.images.subarray(i * w * h * 3, (i + 1) * w * h * 3), [1, h, w, 3], 'int32');
      const x = tf.div(tf.sub(tf.div(tf.cast(img, 'float32'), 255), INPUT_MEAN), INPUT_STD) as tf.Tensor4D;
      const logits = segForward(params, net, x);
      return tf.argMax(tf.image.resizeBilinear(logits, [lh, lw]), -1);
    });
    cm.add(set.labels.subarray(i * lw * lh, (i + 1) * lw * lh), (await pred.data()) as Int32Array);
    pred.dispose();
    progress?.tick();
  }
  progress?.done();
  return { ...segmentationScores(cm), confusion: Array.from(cm.counts) };
}
