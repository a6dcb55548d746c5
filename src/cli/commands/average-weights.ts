/**
 * `tesg average-weights A B --mix 0.85,0.15 -o OUT.safetensors`: weight-space interpolation of models
 * of one config (WiSE-FT; the work and its rationale are in src/training/average.ts). The ONNX model
 * that `tesg fuse` runs is made from the result with `tesg export`.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { trainedSigVersion } from '../../fusion/tesg-method.js';
import { writeTensorFile } from '../../model/safetensors.js';
import type { AverageRecord } from '../../training/average.js';
import { checkOutputPath } from '../../util/output-path.js';

interface AverageCliOptions {
  mix: string;
  out: string;
}

async function runAverage(files: string[], o: AverageCliOptions): Promise<void> {
  if (!o.out.toLowerCase().endsWith('.safetensors')) throw new UsageError(`-o ${o.out}: name the weights file .safetensors`);
  checkOutputPath(o.out, 'file', '-o takes the averaged weights\' file name, e.g. -o averaged.safetensors');
  if (files.some((f) => path.resolve(f) === path.resolve(o.out))) throw new UsageError(`-o ${o.out} is one of the inputs: choose another file`);
  const mix = o.mix.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  const { averageWeights, AVERAGE_KEY } = await import('../../training/average.js');
  let averaged;
  try {
    averaged = await averageWeights(files, mix);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${err.message} (--mix ${o.mix})`);
    throw err;
  }
  await writeTensorFile(o.out, averaged);
  const record = JSON.parse(averaged.metadata[AVERAGE_KEY]) as AverageRecord;
  const terms = record.sources.map((s) => `${+s.coefficient.toFixed(6)} x ${s.weights}`).join(' + ');
  const sig = await trainedSigVersion(o.out);
  const maskers = new Set(record.sources.map((s) => s.sigMasker ?? 'none'));
  if (maskers.size > 1) {
    const each = await Promise.all(files.map(async (f) => `${f}: ${await trainedSigVersion(f)}`));
    process.stderr.write(`tesg: note: the inputs were trained with different SIGs (${each.join(', ')}); the average records the first one's (${sig}), which tesg fuse will run\n`);
  }
  process.stdout.write(`wrote ${o.out} = ${terms}; SIG ${sig} (${files[0]}'s record)\n`);
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
