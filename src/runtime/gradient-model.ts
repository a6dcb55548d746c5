/**
 * The contract between the parallel trainer and a model: a module that, given an init value, builds
 * a loss function of (parameters, one shard of the batch). It runs in each worker replica and in the
 * main thread alike, so the same code gives the 1-process and the N-worker gradients.
 */
import { tf } from './tfjs-node.cjs';

/** Named float32 arrays with shapes: weights, gradients and batch tensors as they cross threads. */
export type TensorMap = Record<string, { shape: number[]; data: Float32Array }>;

export interface GradientModel {
  /** The mean loss over the shard (every example weighs the same). */
  loss(params: Record<string, tf.Tensor>, shard: Record<string, tf.Tensor>): tf.Scalar;
}

/** What a worker module exports. */
export interface GradientModelModule {
  createModel(init: unknown): GradientModel | Promise<GradientModel>;
}

export interface ShardGradients {
  /** Mean loss over the shard. */
  loss: number;
  /** d(mean loss)/d(param), per parameter. */
  grads: TensorMap;
  /** Examples in the shard (the weight of this result in the batch mean). */
  examples: number;
}

function split(map: TensorMap, start: number, count: number): TensorMap {
  const out: TensorMap = {};
  for (const [k, v] of Object.entries(map)) {
    const per = v.data.length / v.shape[0];
    out[k] = { shape: [count, ...v.shape.slice(1)], data: v.data.subarray(start * per, (start + count) * per) };
  }
  return out;
}

export function examplesIn(shard: TensorMap): number {
  const sizes = new Set(Object.values(shard).map((v) => v.shape[0]));
  if (sizes.size !== 1) throw new Error(`batch tensors disagree on the batch size: ${[...sizes].join(', ')}`);
  return [...sizes][0];
}

/** Slices examples [start, start + count) of every batch tensor (views, no copies). */
export function sliceBatch(batch: TensorMap, start: number, count: number): TensorMap {
  return split(batch, start, count);
}

/**
 * Loss and gradients of `model` on `shard`, in micro-batches of at most `microBatch` examples whose
 * gradients are accumulated (weighted by size) so that memory stays bounded by the micro-batch.
 */
export function shardGradients(model: GradientModel, weights: TensorMap, shard: TensorMap, microBatch = Infinity): ShardGradients {
  const names = Object.keys(weights);
  const examples = examplesIn(shard);
  const step = Math.max(1, Math.min(microBatch, examples));
  const sums = names.map((k) => new Float64Array(weights[k].data.length));
  let lossSum = 0;
  const params = names.map((k) => tf.tensor(weights[k].data, weights[k].shape));
  try {
    for (let start = 0; start < examples; start += step) {
      const count = Math.min(step, examples - start);
      const part = split(shard, start, count);
      const { value, grads } = tf.tidy(() => {
        const inputs = Object.fromEntries(Object.entries(part).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
        const f = (...ts: tf.Tensor[]) => model.loss(Object.fromEntries(names.map((k, i) => [k, ts[i]])), inputs);
        return tf.valueAndGrads(f)(params);
      });
      lossSum += value.dataSync()[0] * count;
      grads.forEach((g, i) => {
        const d = g.dataSync();
        const s = sums[i];
        for (let j = 0; j < d.length; j++) s[j] += d[j] * count;
      });
      tf.dispose([value, ...grads]);
    }
  } finally {
    tf.dispose(params);
  }
  const grads: TensorMap = {};
  names.forEach((k, i) => {
    grads[k] = { shape: weights[k].shape, data: Float32Array.from(sums[i], (v) => v / examples) };
  });
  return { loss: lossSum / examples, grads, examples };
}
