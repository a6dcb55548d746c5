/**
 * Score one image stem: read IR, VI and every method's fused image, check sizes, compute the metrics.
 * Runs on the main thread or inside a worker (./worker.ts); returns failures as data so a worker
 * never has to ship an exception across threads.
 */
import { InputError, MismatchError } from '../errors.js';
import { readImage, assertSameSize } from '../image/read.js';
import { toGray } from '../image/color.js';
import type { GrayImage } from '../image/types.js';
import { findMetric, type MetricInfo } from '../metrics/index.js';
import type { MetricValues, StemOutcome, StemTask } from './types.js';

async function readGray(file: string): Promise<GrayImage> {
  return toGray(await readImage(file));
}

function scoreRow(metrics: MetricInfo[], fused: GrayImage, ir: GrayImage, vi: GrayImage): MetricValues {
  const out: MetricValues = {};
  for (const m of metrics) out[m.name] = m.compute(fused, ir, vi);
  return out;
}

export async function scoreStem(task: StemTask): Promise<StemOutcome> {
  const metrics = task.metrics.map((name) => {
    const m = findMetric(name);
    if (!m) throw new Error(`unknown metric ${name} reached the scorer`); // names are checked by the planner
    return m;
  });
  const files = [task.ir, task.vi, ...task.fused.map((f) => f.file)];
  let images: GrayImage[];
  try {
    images = await Promise.all(files.map(readGray));
    for (let i = 1; i < images.length; i++) assertSameSize(images[0], files[0], images[i], files[i]);
  } catch (err) {
    if (err instanceof MismatchError) return { ok: false, failure: { stem: task.stem, kind: 'mismatch', message: err.message } };
    if (err instanceof InputError) return { ok: false, failure: { stem: task.stem, kind: 'unreadable', message: err.message } };
    throw err;
  }
  const [ir, vi, ...fused] = images;
  const rows: Record<string, MetricValues> = {};
  if (task.sources) {
    rows.IR = scoreRow(metrics, ir, ir, vi);
    rows.VI = scoreRow(metrics, vi, ir, vi);
  }
  task.fused.forEach((f, i) => {
    rows[f.name] = scoreRow(metrics, fused[i], ir, vi);
  });
  return { ok: true, scores: { stem: task.stem, rows } };
}
