/**
 * Gradient-model module (see ./gradient-model.ts) for the probe network: the replica the parallel
 * trainer's test and benchmark run. Batch tensors: `x` [N, H, W, in], `target` [N, H, W, out].
 */
import { tf } from './tfjs-node.cjs';
import type { GradientModel } from './gradient-model.js';
import { probeLoss, type ProbeNetConfig } from './probe-net.js';

export function createModel(init: unknown): GradientModel {
  const cfg = init as ProbeNetConfig;
  return {
    loss: (params, shard) => probeLoss(cfg, params, shard.x as tf.Tensor4D, shard.target as tf.Tensor4D),
  };
}
