/**
 * First-step gradient norm of a model preset on a black / black-VI-only / normal batch, for a grid of
 * (norm_eps, attn_eps) (issue 13 item 3; docs/model.md "Epsilons"), on libtorch (tfjs with --wasm).
 * Random weights (seed 0), synthetic crops (test/helpers/model-fixtures.ts), the training loss.
 *
 *   npm run bench -- eps-grad-norm --preset u2-a --crop 96 --batch 8 [--grid 1e-5:1e-8,1e-2:0.1] [--wasm]
 */
import { TesgModel } from '../src/model/model.js';
import { tf } from '../src/model/tfjs.js';
import { modelPreset } from '../src/model/presets.js';
import { initBackend } from '../src/runtime/backend.js';
import { loadTorch } from '../src/runtime/torch.js';
import { globalNorm } from '../src/training/clip.js';
import { BatchSampler } from '../src/training/data.js';
import { DEFAULT_LOSS_WEIGHTS } from '../src/training/losses.js';
import { torchGradients } from '../src/training/torch-gradients.js';
import { localGradients, type GradientFn } from '../src/training/trainer.js';
import { syntheticData } from '../test/helpers/model-fixtures.js';

const DEFAULT_GRID = '1e-5:1e-8,1e-3:1e-2,1e-2:1e-2,1e-2:0.1,1e-2:1';
const KINDS = ['black', 'black VI only', 'normal'] as const;

export async function run(argv: string[]): Promise<void> {
  const a = { preset: 'u2-a', crop: 96, batch: 8, grid: DEFAULT_GRID, wasm: false };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--wasm') {
      a.wasm = true;
      i--;
    } else if (k === '--preset') a.preset = v;
    else if (k === '--crop') a.crop = Number(v);
    else if (k === '--batch') a.batch = Number(v);
    else if (k === '--grid') a.grid = v;
    else throw new Error(`unknown option ${k}`);
  }
  await initBackend('wasm');
  const grads: GradientFn = a.wasm ? localGradients : torchGradients({ threads: 1 }, loadTorch());
  const batches = new Map<string, Awaited<ReturnType<BatchSampler['next']>>>();
  for (const kind of KINDS) {
    const d = syntheticData(a.batch, a.crop + 8, a.crop + 4);
    for (const p of d.pairs) {
      const s = await d.load(p);
      if (kind !== 'normal') s.vi.fill(0);
      if (kind === 'black') s.ir.fill(0);
    }
    batches.set(kind, await new BatchSampler(d.pairs, d.load, { batch: a.batch, crop: a.crop, seed: 1 }).next());
  }
  console.log(`${a.preset}, batch ${a.batch}, ${a.crop}x${a.crop}, ${a.wasm ? 'tfjs-wasm' : 'libtorch'}: first-step gradient norm`);
  console.log(`| norm_eps | attn_eps | ${KINDS.join(' | ')} |`);
  for (const pair of a.grid.split(',')) {
    const [normEps, attnEps] = pair.split(':').map(Number);
    const model = TesgModel.create({ ...modelPreset(a.preset), norm_eps: normEps, attn_eps: attnEps }, 0);
    const row: string[] = [];
    for (const kind of KINDS) {
      const { grads: g } = await grads(model, batches.get(kind)!, DEFAULT_LOSS_WEIGHTS);
      row.push(globalNorm([...g.values()]).toPrecision(3));
      tf.dispose([...g.values()]);
    }
    console.log(`| ${normEps} | ${attnEps} | ${row.join(' | ')} |`);
    model.dispose();
  }
}
