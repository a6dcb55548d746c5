/**
 * The loss curve of a training run: `train-log.csv` (written by src/training/trainer.ts, one row per
 * optimizer step) drawn as two stacked panels sharing the step axis: the weighted loss terms as
 * running means (log scale; raw per-step values are too noisy with batch 8 to read), and the learning
 * rate. Specified in Vega-Lite, rendered to SVG by Vega in Node, and to PNG by sharp (librsvg): the
 * same route as the report's plots (src/report/plots.ts), no canvas.
 */
import { readFile } from 'node:fs/promises';
import { sharp } from '../image/sharp.js';
import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { InputError } from '../errors.js';
import type { LossWeights } from '../training/loss-weights.js';
import { methodColour } from './plots.js';

/** One row of train-log.csv: step (1-based), the unweighted loss terms, lr. */
export interface TrainLogRow {
  step: number;
  loss: number;
  ssim: number;
  intensity: number;
  gradient: number;
  color: number;
  lr: number;
  /** The distillation term (unweighted; the optional `teacher` column of a `--teacher` run), else absent. */
  teacher?: number;
}

const COLUMNS = ['step', 'loss', 'ssim', 'intensity', 'gradient', 'color', 'lr'] as const;

/**
 * Parse train-log.csv text. The header must name at least the columns of TrainLogRow (others, such
 * as grad_norm and sec_per_step, are ignored). A resumed run's log is truncated to its checkpoint
 * before it continues, so steps are increasing; a row whose step does not increase is an error.
 * @throws InputError naming `file` for a missing column, a non-numeric cell or a step out of order.
 */
export function parseTrainLog(text: string, file: string): TrainLogRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new InputError(file, 'empty: expected a train-log.csv written by tesg train');
  const header = lines[0].split(',').map((h) => h.trim());
  const index = Object.fromEntries(COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<(typeof COLUMNS)[number], number>;
  const missing = COLUMNS.filter((c) => index[c] < 0);
  if (missing.length > 0) throw new InputError(file, `the header lacks column(s) ${missing.join(', ')}: expected a train-log.csv written by tesg train`);
  const teacherAt = header.indexOf('teacher');
  const rows: TrainLogRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split(',');
    const row = {} as TrainLogRow;
    for (const c of COLUMNS) {
      const v = Number(cells[index[c]]);
      if (!Number.isFinite(v)) throw new InputError(file, `line ${i + 1}: column ${c} is '${cells[index[c]] ?? ''}', not a number`);
      row[c] = v;
    }
    if (teacherAt >= 0) {
      const t = Number(cells[teacherAt]);
      if (!Number.isFinite(t)) throw new InputError(file, `line ${i + 1}: column teacher is '${cells[teacherAt] ?? ''}', not a number`);
      row.teacher = t;
    }
    if (rows.length > 0 && row.step <= rows[rows.length - 1].step) throw new InputError(file, `line ${i + 1}: step ${row.step} does not follow step ${rows[rows.length - 1].step}`);
    rows.push(row);
  }
  if (rows.length === 0) throw new InputError(file, 'no rows after the header: the run has not logged a step yet');
  return rows;
}

/**
 * Trailing running mean over `window` values (fewer at the start): out[i] = mean(x[max(0, i-window+1)..i]).
 * Summed with a running total, so O(n).
 */
export function runningMean(x: readonly number[], window: number): number[] {
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`window must be a positive integer, got ${window}`);
  const out = new Array<number>(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    sum += x[i];
    if (i >= window) sum -= x[i - window];
    out[i] = sum / Math.min(i + 1, window);
  }
  return out;
}

export interface LossCurveOptions {
  /** Running-mean window in steps (default 100). */
  window?: number;
  /** Loss weights, to plot each term as it enters the total (default: unweighted terms). */
  weights?: LossWeights;
  /** At most this many points per series (evenly spaced steps; default 1,000) so the SVG stays small. */
  maxPoints?: number;
  title?: string;
}

/** The Vega-Lite spec of the loss-curve figure (exported for tests and restyling). */
export function lossCurveSpec(rows: readonly TrainLogRow[], o: LossCurveOptions = {}): TopLevelSpec {
  const window = o.window ?? 100;
  const w = o.weights ?? { ssim: 1, intensity: 1, gradient: 1, color: 1 };
  const series: Array<[string, number[]]> = [
    ['total', rows.map((r) => r.loss)],
    [`SSIM x${w.ssim}`, rows.map((r) => r.ssim * w.ssim)],
    [`gradient x${w.gradient}`, rows.map((r) => r.gradient * w.gradient)],
    [`intensity x${w.intensity}`, rows.map((r) => r.intensity * w.intensity)],
  ];
  if (rows.some((r) => r.color !== 0)) series.push([`colour x${w.color}`, rows.map((r) => r.color * w.color)]);
  // the distillation term as it enters the total (a run without --teacher logs none or zeros)
  if (w.teacher && rows.some((r) => r.teacher)) series.push([`teacher x${w.teacher}`, rows.map((r) => (r.teacher ?? 0) * w.teacher!)]);
  const stride = Math.max(1, Math.ceil(rows.length / (o.maxPoints ?? 1000)));
  const keep = (i: number) => i % stride === stride - 1 || i === rows.length - 1;
  const losses = series.flatMap(([term, values]) =>
    runningMean(values, window).flatMap((v, i) => (keep(i) && v > 0 ? [{ step: rows[i].step, term, value: v }] : [])));
  const lrs = rows.flatMap((r, i) => (keep(i) ? [{ step: r.step, lr: r.lr }] : []));
  const names = series.map(([t]) => t);
  const x = { field: 'step', type: 'quantitative' as const, title: 'step' };
  return {
    title: { text: o.title ?? 'training loss', anchor: 'start', fontSize: 13 },
    background: 'white',
    vconcat: [
      {
        width: 520,
        height: 260,
        data: { values: losses },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', scale: { type: 'log' }, title: `loss term, running mean over ${window} steps` },
          color: { field: 'term', type: 'nominal', scale: { domain: names, range: names.map((_, i) => methodColour(i)) }, title: null },
        },
      },
      {
        width: 520,
        height: 90,
        data: { values: lrs },
        mark: { type: 'line', strokeWidth: 1.5, color: '#555555' },
        encoding: { x, y: { field: 'lr', type: 'quantitative', title: 'learning rate', axis: { format: '.1e' } } },
      },
    ],
    config: { font: 'sans-serif', axis: { labelFontSize: 11, titleFontSize: 11 } },
  };
}

/** Render the loss-curve figure to a standalone <svg> string. */
export async function lossCurveSvg(rows: readonly TrainLogRow[], o: LossCurveOptions = {}): Promise<string> {
  const view = new View(parse(compile(lossCurveSpec(rows, o)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Read `logFile` (train-log.csv) and return the figure as PNG bytes (`scale` x the SVG's size,
 * default 2) or SVG text.
 * @throws InputError when the file cannot be read or parsed.
 */
export async function renderLossCurve(logFile: string, format: 'png' | 'svg', o: LossCurveOptions & { scale?: number } = {}): Promise<Uint8Array | string> {
  let text: string;
  try {
    text = await readFile(logFile, 'utf8');
  } catch (err) {
    throw new InputError(logFile, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give the train-log.csv in a tesg train --out folder`);
  }
  const svg = await lossCurveSvg(parseTrainLog(text, logFile), o);
  if (format === 'svg') return svg;
  return new Uint8Array(await sharp(Buffer.from(svg), { density: 72 * (o.scale ?? 2) }).png().toBuffer());
}
