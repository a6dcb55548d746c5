import { Worker } from 'node:worker_threads';
import { tf } from '../model/tfjs.js';
import type { TorchAddon } from '../runtime/torch.js';
import { loadTorch } from '../runtime/torch.js';
import { DEFAULT_ADAMW } from './adamw.js';
import type { ReplicaReply, ReplicaRequest, ReplicaSetup } from './torch-replica.js';
import type { TorchLossValues } from './torch-step.js';
import { sliceBatch, TorchTrainStep } from './torch-step.js';
import type { GradientFn } from './trainer.js';

export interface TorchGradientOptions {
  /** libtorch intra-op threads per replica (default: libtorch's own setting; 1 with replicas). */
  threads?: number;
  /** Samples per libtorch forward/backward (default: the whole share; must divide it). */
  microBatch?: number;
  /**
   * 2: a worker thread computes the second half of each batch with its own libtorch step while
   * this thread computes the first (one exchange per step; see ./torch-replica.ts). Default 1.
   */
  replicas?: number;
}

/**
 * The trainer's GradientFn (./trainer.ts) on libtorch: the trainer keeps its tfjs model, AdamW,
 * checkpoints, NaN checks and logs unchanged; each call copies the current weights in (a few
 * hundred KB), runs forward, loss and backward on libtorch, and hands the gradients back as tfjs
 * tensors. The heavy work is all on libtorch; the copies and the tfjs AdamW update cost a few ms.
 */
export function torchGradients(opts: TorchGradientOptions = {}, torch: TorchAddon = loadTorch()): GradientFn {
  let step: TorchTrainStep | null = null;
  let replica: ReplicaClient | null = null;
  const replicas = opts.replicas ?? 1;
  const threads = opts.threads ?? (replicas > 1 ? 1 : undefined);
  return async (model, batch, weights) => {
    const arrays = await model.params.toArrays();
    if (step && step.config !== model.config) {
      step.dispose();
      step = null;
    }
    if (!step) step = TorchTrainStep.create({ config: model.config, weights: arrays, adam: DEFAULT_ADAMW, threads }, torch);
    else step.setWeights(arrays);
    const micro = (n: number) => Math.min(opts.microBatch ?? n, n);
    const own = replicas > 1 && batch.size > 1 ? sliceBatch(batch, 0, Math.ceil(batch.size / 2)) : batch;
    let other: Promise<ReplicaReply> | null = null;
    if (own !== batch) {
      replica ??= startReplica({ config: model.config, threads: threads ?? 1 });
      const rest = sliceBatch(batch, own.size, batch.size - own.size);
      other = replica.ask({ weights: arrays, batch: rest, lossWeights: weights, microBatch: micro(rest.size) });
    }
    const mine = step.gradients(own, weights, micro(own.size));
    const grads = step.gradientArrays();
    let losses = mine.losses;
    if (other) {
      const r = await other;
      if (r.error) throw new Error(`libtorch replica failed: ${r.error}`);
      // each half's loss is a mean over its samples: weight by share
      const w = own.size / batch.size;
      for (const [name, g] of grads) {
        const o = r.grads!.get(name)!.data;
        for (let i = 0; i < g.data.length; i++) g.data[i] = w * g.data[i] + (1 - w) * o[i];
      }
      const l = { ...losses };
      for (const k of Object.keys(l) as (keyof TorchLossValues)[]) l[k] = w * (l[k] ?? 0) + (1 - w) * (r.losses![k] ?? 0);
      losses = l;
    }
    const out = new Map<string, tf.Tensor>();
    for (const [name, g] of grads) out.set(name, tf.tensor(g.data, g.shape));
    return { losses, grads: out };
  };
}

interface ReplicaClient {
  ask(req: Omit<ReplicaRequest, 'id'>): Promise<ReplicaReply>;
}

/**
 * The replica worker, unref'd while idle so it never keeps the process alive after training ends.
 * From source (tsx) a bootstrap registers tsx in the worker first (as src/runtime/parallel.ts).
 */
function startReplica(setup: ReplicaSetup): ReplicaClient {
  let worker: Worker;
  if (!import.meta.url.endsWith('.ts')) {
    worker = new Worker(new URL('./torch-replica.js', import.meta.url), { workerData: setup });
  } else {
    const entry = new URL('./torch-replica.ts', import.meta.url).href;
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
    worker = new Worker(boot, { eval: true, workerData: setup });
  }
  worker.unref();
  const pending = new Map<number, { resolve: (r: ReplicaReply) => void; reject: (e: Error) => void }>();
  let next = 1;
  worker.on('message', (r: ReplicaReply) => {
    pending.get(r.id)?.resolve(r);
    pending.delete(r.id);
    if (pending.size === 0) worker.unref();
  });
  worker.on('error', (e) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  });
  return {
    ask(req) {
      const id = next++;
      worker.ref();
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ ...req, id } satisfies ReplicaRequest);
      });
    },
  };
}
