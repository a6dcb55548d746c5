/**
 * `npm run bench -- model [--runs N] [--skip-cpu] [--train-steps N] [--micro-batch N] [--dim N --heads N]`
 *
 * The TeSG network's cost and speed: parameters and forward GFLOPs per 640x480 (counted by running
 * the network definition on the shape-only ops, src/model/ops-count.ts), forward time at 640x480 on
 * tfjs-wasm and tfjs-cpu (median of N warm runs), peak tfjs memory of a 640x480 and a 1280x1024
 * forward, and the training step time at batch 8, 96x96 on wasm (micro-batches of 2) with the
 * effective GFLOP/s (3 x forward FLOPs per step / step time).
 */
import { validateModelConfig, type ModelConfig } from '../src/model/config.js';
import { TesgModel } from '../src/model/model.js';
import { modelCost } from '../src/model/ops-count.js';
import { tf } from '../src/model/tfjs.js';
import { initBackend } from '../src/runtime/backend.js';
import { DEFAULT_LOSS_WEIGHTS } from '../src/training/losses.js';
import { accumulatedGradients, localGradients } from '../src/training/trainer.js';
import type { Batch } from '../src/training/data.js';
import { numberOption } from './lib/args.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function inputs(cfg: ModelConfig, b: number, h: number, w: number) {
  return {
    ir: tf.randomUniform([b, h, w, 1], 0, 1, 'float32', 1),
    vi: tf.randomUniform([b, h, w, cfg.vi_input === 'rgb' ? 3 : 1], 0, 1, 'float32', 2),
    mask: tf.cast(tf.greater(tf.randomUniform([b, h, w, 1], 0, 1, 'float32', 3), 0.8), 'float32'),
    text: tf.randomNormal([b, cfg.text_tokens, cfg.text_dim], 0, 0.3, 'float32', 4),
  };
}

async function forwardMs(model: TesgModel, h: number, w: number, runs: number): Promise<{ ms: number; peakMB: number }> {
  const inp = inputs(model.config, 1, h, w);
  const once = async () => {
    const t0 = performance.now();
    const y = tf.tidy(() => model.forward(inp));
    await y.data();
    y.dispose();
    return performance.now() - t0;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  const prof = await tf.profile(() => tf.tidy(() => model.forward(inp)));
  tf.dispose([...Object.values(inp), prof.result as tf.Tensor]);
  return { ms: median(times), peakMB: prof.peakBytes / 2 ** 20 };
}

function randomBatch(cfg: ModelConfig, size: number, crop: number): Batch {
  const px = size * crop * crop;
  let s = 12345;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  return {
    size,
    crop,
    ir: Float32Array.from({ length: px }, r),
    vi: Float32Array.from({ length: px * 3 }, r),
    mask: Float32Array.from({ length: px }, () => (r() > 0.8 ? 1 : 0)),
    text: Float32Array.from({ length: size * cfg.text_tokens * cfg.text_dim }, () => r() - 0.5),
    textEncoderId: cfg.text_encoder,
    stems: Array.from({ length: size }, (_, i) => `b${i}`),
  };
}

export async function run(args: string[]): Promise<void> {
  const runs = numberOption(args, 'runs', 3);
  const trainSteps = numberOption(args, 'train-steps', 2);
  const micro = numberOption(args, 'micro-batch', 2);
  const over: Partial<ModelConfig> = {};
  if (args.includes('--dim')) over.dim = numberOption(args, 'dim', 16);
  if (args.includes('--heads')) over.heads = numberOption(args, 'heads', 2);
  const cfg = validateModelConfig(over);

  console.log(`config: ${JSON.stringify(cfg)}`);
  const cost = modelCost(cfg, 640, 480);
  console.log(`params: ${cost.params} (${(cost.params * 4 / 2 ** 20).toFixed(2)} MiB float32)`);
  console.log(`forward GFLOPs per 640x480: ${(cost.flops / 1e9).toFixed(2)}`);
  for (const [part, f] of Object.entries(cost.byPart)) console.log(`  ${part.padEnd(7)} ${(f / 1e9).toFixed(2)} GFLOPs (${((100 * f) / cost.flops).toFixed(0)}%)`);
  for (const variant of [{ mask_on: 'image' as const }, { use_mgca: false }, { use_tivr: false }, { use_gaf: false }]) {
    const c = modelCost(validateModelConfig({ ...over, ...variant }), 640, 480);
    console.log(`  variant ${JSON.stringify(variant)}: ${c.params} params, ${(c.flops / 1e9).toFixed(2)} GFLOPs`);
  }

  const backends = args.includes('--skip-cpu') ? (['wasm'] as const) : (['wasm', 'cpu'] as const);
  for (const b of backends) {
    await initBackend(b);
    const model = TesgModel.create(cfg);
    const f = await forwardMs(model, 480, 640, b === 'cpu' ? 1 : runs);
    console.log(`forward 640x480 on ${b}: ${f.ms.toFixed(0)} ms (median of ${b === 'cpu' ? 1 : runs}), ${(cost.flops / 1e9 / (f.ms / 1000)).toFixed(2)} GFLOP/s, peak tfjs memory ${f.peakMB.toFixed(0)} MiB`);
    model.dispose();
  }

  if (trainSteps > 0) {
    await initBackend('wasm');
    const model = TesgModel.create(cfg);
    const batch = randomBatch(cfg, 8, 96);
    const times: number[] = [];
    for (let i = 0; i <= trainSteps; i++) {
      const t0 = performance.now();
      const g = await accumulatedGradients(localGradients, model, batch, DEFAULT_LOSS_WEIGHTS, micro);
      tf.dispose([...g.grads.values()]);
      if (i > 0) times.push(performance.now() - t0); // first step warms up
    }
    const ms = median(times);
    const stepFlops = 3 * modelCost(cfg, 96, 96, 8).flops;
    console.log(
      `training step (loss + gradients) batch 8, 96x96, micro-batch ${micro}, wasm: ${(ms / 1000).toFixed(2)} s (median of ${times.length}), ` +
        `${((8 * 96 * 96) / (ms / 1000)).toFixed(0)} pixels/s, effective ${(stepFlops / 1e9 / (ms / 1000)).toFixed(2)} GFLOP/s (3 x forward = ${(stepFlops / 1e9).toFixed(1)} GFLOP)`,
    );
    model.dispose();
  }

  if (!args.includes('--skip-large')) {
    // last: a wasm heap overflow leaves the backend unusable
    await initBackend('wasm');
    const model = TesgModel.create(cfg);
    try {
      const big = await forwardMs(model, 1024, 1280, 1);
      console.log(`forward 1280x1024 on wasm: ${big.ms.toFixed(0)} ms, peak tfjs memory ${big.peakMB.toFixed(0)} MiB`);
      model.dispose();
    } catch (err) {
      console.log(`forward 1280x1024 on wasm: failed (${(err as Error).message.split('\n')[0]})`);
    }
  }
}
