import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { readCheckpointState } from '../../training/checkpoint-state.js';
import { renderLossCurve } from '../../report/train-log-plot.js';
import { DEFAULT_LOSS_WEIGHTS, parseLossWeights, type LossWeights } from '../../training/loss-weights.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { checkOutputPath } from '../../util/output-path.js';

/**
 * `tesg plot-log RUN/train-log.csv -o loss.png`: the loss curve of a training run (running means of
 * the weighted loss terms, and the lr schedule). The work is in src/report/train-log-plot.ts.
 */
interface PlotLogOptions {
  out: string;
  window: number;
  lossWeights?: string;
  title?: string;
}

const WEIGHT_NAMES = ['ssim', 'intensity', 'gradient', 'color'] as const;

/** The loss weights recorded in the checkpoint beside the log (tesg_train.lossWeights), else train's defaults. */
async function runWeights(log: string): Promise<LossWeights> {
  const state = await readCheckpointState(path.dirname(log), "give the run's weights with --loss-weights");
  const w = state?.lossWeights as Record<string, number> | undefined;
  if (w && WEIGHT_NAMES.every((k) => Number.isFinite(w[k]))) return w as unknown as LossWeights;
  return { ...DEFAULT_LOSS_WEIGHTS };
}

async function runPlotLog(log: string, o: PlotLogOptions): Promise<void> {
  const ext = path.extname(o.out).toLowerCase();
  if (ext !== '.png' && ext !== '.svg') throw new UsageError(`-o ${o.out}: the figure must be .png or .svg`);
  if (path.resolve(o.out) === path.resolve(log)) throw new UsageError(`-o ${o.out} is the log itself: choose another file`);
  checkOutputPath(o.out, 'file', '-o takes the plot\'s file name (.png or .svg), e.g. -o loss.png');
  const weights = o.lossWeights ? parseLossWeights(o.lossWeights) : await runWeights(log);
  const fig = await renderLossCurve(log, ext === '.png' ? 'png' : 'svg', { window: o.window, weights, title: o.title ?? `training loss: ${log}` });
  await writeFileAtomic(o.out, fig);
  process.stdout.write(`wrote ${o.out}\n`);
}

export function register(program: Command): void {
  program
    .command('plot-log')
    .description('plot a training run\'s train-log.csv: running means of the weighted loss terms, and the learning rate')
    .argument('<log>', 'train-log.csv of a tesg train --out folder')
    .requiredOption('-o, --out <file>', 'the figure: .png or .svg')
    .option('--window <n>', 'running-mean window in steps', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--window must be a positive integer, got '${v}'`);
      return n;
    }, 100)
    .option('--loss-weights <list>', 'the run\'s loss weights, to plot each term as it enters the total (default: those in checkpoint.safetensors beside the log, else tesg train\'s defaults)')
    .option('--title <text>', 'figure title (default: the log\'s path)')
    .action(runPlotLog);
}
