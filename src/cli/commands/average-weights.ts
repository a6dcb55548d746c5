import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { trainedSigVersion } from '../../fusion/tesg-method.js';
import { writeTensorFile } from '../../model/safetensors.js';
import { checkOutputPath } from '../../util/output-path.js';

/**
 * `tesg average-weights A B --mix 0.85,0.15 -o OUT.safetensors`: weight-space interpolation of models
 * of one config (WiSE-FT; the work and its rationale are in src/training/average.ts). The ONNX model
 * that `tesg fuse` runs is made from the result with `tesg export`.
 */
interface AverageCliOptions {
  mix: string;
  out: string;
}

async function runAverage(files: string[], o: AverageCliOptions): Promise<void> {
  if (!o.out.toLowerCase().endsWith('.safetensors')) throw new UsageError(`-o ${o.out}: name the weights file .safetensors`);
  checkOutputPath(o.out, 'file', '-o takes the averaged weights\' file name, e.g. -o averaged.safetensors');
  if (files.some((f) => path.resolve(f) === path.resolve(o.out))) throw new UsageError(`-o ${o.out} is one of the inputs: choose another file`);
  const mix = o.mix.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  const { averageWeights } = await import('../../training/average.js');
  const averaged = await averageWeights(files, mix);
  await writeTensorFile(o.out, averaged);
  const terms = files.map((f, k) => `${mix[k]} x ${f}`).join(' + ');
  process.stdout.write(`wrote ${o.out} = ${terms}; SIG ${await trainedSigVersion(o.out)} (${files[0]}'s record)\n`);
  process.stdout.write(`next: tesg export --weights ${o.out} (the .onnx beside it is what tesg fuse runs)\n`);
}

export function register(program: Command): void {
  program
    .command('average-weights')
    .description('mix models of one config in weight space (WiSE-FT: a fine-tuned model mixed back with the one it came from)')
    .argument('<weights...>', 'two or more .safetensors of one config (weights or checkpoints); the first one\'s SIG record is kept')
    .requiredOption('--mix <list>', 'one coefficient per file, >= 0, summing to 1, e.g. 0.85,0.15')
    .requiredOption('-o, --out <file>', 'the averaged weights (.safetensors)')
    .action(runAverage);
}
