/**
 * Worker-thread replica of the libtorch training step (see torchGradients in ./torch-step.ts): it
 * computes the gradients of its share of each batch with its own one-thread libtorch step, so two
 * replicas use two cores with one exchange per step instead of OpenMP's synchronisation per op
 * (which cost more than it gained on this shared 2-core machine).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ModelConfig } from '../model/config.js';
import type { NamedArray } from '../model/params.js';
import { DEFAULT_ADAMW } from './adamw.js';
import type { Batch } from './data.js';
import type { LossWeights } from './losses.js';
import type { TorchLossValues } from './torch-step.js';
import { TorchTrainStep } from './torch-step.js';

export interface ReplicaSetup {
  config: ModelConfig;
  threads: number;
}

export interface ReplicaRequest {
  id: number;
  weights: Map<string, NamedArray>;
  batch: Batch;
  lossWeights: LossWeights;
  microBatch: number;
}

export interface ReplicaReply {
  id: number;
  error?: string;
  losses?: TorchLossValues;
  grads?: Map<string, NamedArray>;
}

if (parentPort === null) throw new Error('torch-replica must run in a worker thread');
const port = parentPort;
const setup = workerData as ReplicaSetup;
let step: TorchTrainStep | null = null;

port.on('message', (req: ReplicaRequest) => {
  try {
    if (!step) step = TorchTrainStep.create({ config: setup.config, weights: req.weights, adam: DEFAULT_ADAMW, threads: setup.threads });
    else step.setWeights(req.weights);
    const { losses } = step.gradients(req.batch, req.lossWeights, req.microBatch);
    const grads = step.gradientArrays();
    const reply: ReplicaReply = { id: req.id, losses, grads };
    port.postMessage(reply, [...grads.values()].map((g) => g.data.buffer as ArrayBuffer));
  } catch (e) {
    port.postMessage({ id: req.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies ReplicaReply);
  }
});
