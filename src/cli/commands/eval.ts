import os from 'node:os';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { MAX_RESAMPLES } from '../../eval/paired.js';
import { checkBootstrapFlags, num } from '../options.js';
import { summaryMarkdown } from '../../eval/output.js';
import { evaluateFolders } from '../../eval/run.js';
import { skippedLines } from '../../eval/skipped.js';
import { DEFAULT_METRIC_NAMES, METRICS } from '../../metrics/index.js';
import type { FusedFolder } from '../../eval/types.js';
import { checkOutputPath } from '../../util/output-path.js';

/**
 * `tesg eval --ir DIR --vi DIR --fused NAME=DIR ...`: the paper's Table 1 for any set of fused
 * folders. The work is in src/eval/run.ts; this file parses options and prints the table (stdout)
 * and what was skipped or written (stderr).
 */
interface EvalCliOptions {
  ir: string;
  vi: string;
  fused?: FusedFolder[];
  out: string;
  sources?: boolean;
  allowMissing?: boolean;
  metrics?: string;
  workers: string;
  html?: boolean;
  baseline?: string;
  resamples: number;
  seed: number;
}

function parseFused(value: string, previous: FusedFolder[] | undefined): FusedFolder[] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new UsageError(`--fused expects NAME=DIR (e.g. --fused MMDRFuse=out/mmdr), got '${value}'`);
  return [...(previous ?? []), { name: value.slice(0, eq), dir: value.slice(eq + 1) }];
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--workers must be a positive integer, got '${value}'`);
  return n;
}

async function runEval(o: EvalCliOptions, cmd?: Command): Promise<void> {
  checkBootstrapFlags(cmd, o.baseline);
  const workers = parseWorkers(o.workers);
  // before any scoring: a bad --out would otherwise fail only when the scores are written
  checkOutputPath(o.out, 'folder', '--out takes a folder (created if missing) for per-image.csv, per-image.json and summary.md');
  const result = await evaluateFolders({
    ir: o.ir,
    vi: o.vi,
    fused: o.fused ?? [],
    out: o.out,
    sources: o.sources,
    allowMissing: o.allowMissing,
    metrics: o.metrics?.split(',').filter((s) => s.trim() !== ''),
    workers,
    html: o.html,
    baseline: o.baseline,
    bootstrap: { resamples: o.resamples, seed: o.seed },
  });
  for (const line of skippedLines(result.skipped, o.fused ?? [])) process.stderr.write(`${line}\n`);
  process.stdout.write(summaryMarkdown(result));
  process.stderr.write(
    `scored ${result.images.length} image(s) x ${result.methods.length} row(s) in ${result.seconds.toFixed(1)} s ` +
      `(${result.workers} worker${result.workers > 1 ? 's' : ''}); wrote ${Object.values(result.files ?? {}).join(', ')}\n`,
  );
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('score fused images against their IR/VI sources and print a Table-1-style summary')
    .requiredOption('--ir <dir>', 'folder of infrared images')
    .requiredOption('--vi <dir>', 'folder of visible images (paired with IR by file-name stem; extensions may differ)')
    .option('--fused <name=dir>', 'a method name and its folder of fused images (repeat for more methods)', parseFused)
    .option('--out <dir>', 'where per-image.csv, per-image.json and summary.md go', 'eval-out')
    .option('--sources', 'also score IR and VI themselves as (unranked) rows')
    .option('--allow-missing', 'score every complete, consistent image and list the skipped ones with the reason (no partner, missing from a fused folder, unreadable, another size) instead of failing')
    .option(
      '--metrics <list>',
      `comma-separated subset (default ${DEFAULT_METRIC_NAMES.join(',')}); also: ${METRICS.map((m) => m.name)
        .filter((n) => !DEFAULT_METRIC_NAMES.includes(n))
        .join(', ')}`,
    )
    .option('--workers <n>', 'worker threads for scoring (1 = main thread)', String(os.availableParallelism()))
    .option('--baseline <name>', 'also compare every other row with this one (a --fused name, or IR / VI with --sources) image by image: mean of (row - NAME), its 95 % bootstrap interval, images better / worse (in summary.md and per-image.json)')
    .option('--resamples <n>', `bootstrap resamples of the images for --baseline (1..${MAX_RESAMPLES})`, num('--resamples', 1, MAX_RESAMPLES, true), 1000)
    .option('--seed <n>', 'seed of those resamples', num('--seed', 0, 0xffffffff, true), 1)
    .option('--html', 'also write report.html beside summary.md: the table, per-metric distribution plots, a sortable gallery with a synchronized full-size zoom (images in report_files/)')
    .addHelpText(
      'after',
      '\nMetrics follow the reference evaluator most fusion papers use (CDDFuse): gray = round(0.299 R + 0.587 G +' +
        '\n0.114 B), values 0..255 as float; see src/metrics/*.ts for each convention. A table cell is the mean over' +
        '\nimages; SCD of a source row is nan (F - source is constant).',
    )
    .action(runEval);
}
