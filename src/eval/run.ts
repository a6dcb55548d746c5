/**
 * `tesg eval` as a library call: pair the folders by name stem, score every complete stem (on worker
 * threads for larger sets), average per method, build the Table-1-style summary and write the outputs.
 */
import path from 'node:path';
import { MismatchError, TesgError, UsageError } from '../errors.js';
import { DEFAULT_METRIC_NAMES, METRICS, findMetric } from '../metrics/index.js';
import { countUnmatched, describeUnmatched, pairWithDerived } from '../util/pairing.js';
import { createProgress } from '../util/progress.js';
import { scoreStems } from './pool.js';
import { pairedComparison, pairedMarkdown, type BootstrapOptions, type PairedComparison } from './paired.js';
import { markdownTable, meanRows, type SummaryRow } from './table.js';
import { writeEvalOutputs } from './output.js';
import { describeLacking, skippedStemCount } from './skipped.js';
import type { FusedFolder, StemFailure, StemScores, StemTask } from './types.js';

export interface EvalOptions {
  ir: string;
  vi: string;
  fused: FusedFolder[];
  /** Output folder (created); never one of the input folders. */
  out: string;
  /** Add IR and VI themselves as (unranked) rows. */
  sources?: boolean;
  /**
   * Score every complete, consistent stem and report the rest (files without a partner, gaps in a
   * fused folder, unreadable files, images of another size) instead of failing on the first.
   */
  allowMissing?: boolean;
  /** Metric names (case-insensitive); default: every metric except the SSIM_cddfuse compatibility one. */
  metrics?: string[];
  /** Worker threads; 1 scores on the main thread. */
  workers?: number;
  /** Progress bar on a TTY, lines otherwise; false silences it (library use). */
  progress?: boolean;
  /** Also write report.html (+ report_files/) beside summary.md (src/report/html-report.ts). */
  html?: boolean;
  /** The command line the HTML report records (default: this process's arguments). */
  command?: string;
  /**
   * A row (a --fused name, or IR / VI with sources) to compare every other row with, image by image
   * (./paired.ts): mean difference, bootstrap interval, images better / worse.
   */
  baseline?: string;
  /** Resamples, seed and level of that comparison (default 1000, 1, 0.95). */
  bootstrap?: BootstrapOptions;
}

export interface EvalSkipped {
  /** Folder (ir, vi or method name) -> IR/VI files without their other source, fused files without IR/VI. */
  unmatched: Record<string, string[]>;
  /** Method name -> stems IR and VI both have but its fused folder lacks. */
  lacking: Record<string, string[]>;
  /** Stems with an unreadable file (only with allowMissing; otherwise they fail the run). */
  unreadable: StemFailure[];
  /** Stems whose IR, VI and fused images differ in size (only with allowMissing), the sizes in the message. */
  mismatched: StemFailure[];
}

export interface EvalResult {
  metrics: string[];
  /** Row order: IR, VI (with sources), then the methods as given. */
  methods: string[];
  folders: { ir: string; vi: string; fused: Record<string, string> };
  /** Per-image scores, sorted by stem. */
  images: StemScores[];
  summary: SummaryRow[];
  caption: string;
  table: string;
  /** With `baseline`: the paired comparison and its Markdown (also in summary.md and per-image.json). */
  paired?: PairedComparison;
  pairedTable?: string;
  skipped: EvalSkipped;
  seconds: number;
  workers: number;
  files?: { csv: string; json: string; table: string; html?: string };
}

const MAX_LISTED = 10;

/** The summary's rows: IR and VI with sources, then the methods as given. */
function rowNames(o: EvalOptions): string[] {
  return [...(o.sources ? ['IR', 'VI'] : []), ...o.fused.map((f) => f.name)];
}

function checkOptions(o: EvalOptions): string[] {
  if (o.fused.length === 0 && !o.sources) throw new UsageError('nothing to score: give at least one --fused NAME=DIR (or --sources)');
  const seen = new Set<string>();
  for (const f of o.fused) {
    const key = f.name.toLowerCase();
    if (!f.name || !f.dir) throw new UsageError(`--fused expects NAME=DIR, got '${f.name}=${f.dir}'`);
    if (key === 'ir' || key === 'vi') throw new UsageError(`--fused name '${f.name}' is reserved for the source rows; pick another name`);
    if (seen.has(key)) throw new UsageError(`--fused name '${f.name}' is given twice; names must be unique`);
    seen.add(key);
  }
  const out = path.resolve(o.out);
  for (const dir of [o.ir, o.vi, ...o.fused.map((f) => f.dir)]) {
    if (path.resolve(dir) === out) throw new UsageError(`--out ${o.out} is an input folder; write the results somewhere else`);
  }
  const names = (o.metrics ?? DEFAULT_METRIC_NAMES).map((n) => {
    const m = findMetric(n.trim());
    if (!m) throw new UsageError(`unknown metric '${n}'; known: ${METRICS.map((x) => x.name).join(', ')}`);
    return m.name;
  });
  if (names.length === 0) throw new UsageError('--metrics is empty');
  if (o.baseline !== undefined) {
    const rows = rowNames(o);
    if (!rows.includes(o.baseline)) {
      throw new UsageError(`--baseline '${o.baseline}' is not a row; give one of ${rows.join(', ')}${o.sources ? '' : ' (IR and VI need --sources)'}`);
    }
    if (rows.length < 2) throw new UsageError(`--baseline '${o.baseline}' needs at least one other row to compare with`);
  }
  return [...new Set(names)];
}

function listed(messages: string[]): string {
  const head = messages.slice(0, MAX_LISTED).join('; ');
  return messages.length > MAX_LISTED ? `${head}; and ${messages.length - MAX_LISTED} more` : head;
}

export async function evaluateFolders(o: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const metrics = checkOptions(o);
  const folders: Record<string, string> = { ir: o.ir, vi: o.vi };
  for (const f of o.fused) folders[f.name] = f.dir;
  const pairing = await pairWithDerived({ ir: o.ir, vi: o.vi }, Object.fromEntries(o.fused.map((f) => [f.name, f.dir])));
  const lone = countUnmatched(pairing.unmatched);
  const gaps = describeLacking(pairing.lacking, o.fused);
  if ((lone > 0 || gaps.length > 0) && !o.allowMissing) {
    const parts = [...gaps, ...(lone > 0 ? [`${lone} file(s) have no partner (${describeUnmatched(pairing.unmatched)})`] : [])];
    throw new MismatchError(
      `${parts.join('; ')}; add the missing files, or rerun with --allow-missing to score the ${pairing.matched.length} complete image(s)`,
    );
  }
  if (pairing.matched.length === 0) throw new MismatchError(`no image name stem is present in every folder (${Object.values(folders).join(', ')})`);

  const tasks: StemTask[] = pairing.matched.map((p) => ({
    stem: p.stem,
    ir: p.files.ir,
    vi: p.files.vi,
    fused: o.fused.map((f) => ({ name: f.name, file: p.files[f.name] })),
    sources: Boolean(o.sources),
    metrics,
  }));
  const workers = Math.max(1, Math.min(o.workers ?? 1, tasks.length));
  const progress = o.progress === false ? undefined : createProgress({ label: 'eval', total: tasks.length });
  let outcomes;
  try {
    outcomes = await scoreStems(tasks, {
      workers,
      onOutcome: (x) => progress?.tick(1, x.ok ? x.scores.stem : `${x.failure.stem} failed`),
      // Without --allow-missing a size mismatch fails the run: stop at the first one.
      stopOn: (x) => !o.allowMissing && !x.ok && x.failure.kind === 'mismatch',
    });
  } finally {
    progress?.done();
  }

  const failures = outcomes.flatMap((x) => (x.ok || x.failure.kind !== 'unreadable' ? [] : [x.failure]));
  const mismatched = outcomes.flatMap((x) => (x.ok || x.failure.kind !== 'mismatch' ? [] : [x.failure]));
  if (mismatched.length > 0 && !o.allowMissing) {
    throw new MismatchError(`${mismatched[0].message} (image '${mismatched[0].stem}'); or rerun with --allow-missing to score the other images`);
  }
  if (failures.length > 0 && !o.allowMissing) {
    throw new TesgError(
      `${failures.length} image(s) could not be read: ${listed(failures.map((f) => f.message))}; ` +
        `fix or remove them, or rerun with --allow-missing to score the ${tasks.length - failures.length} readable image(s)`,
    );
  }
  const images = outcomes.flatMap((x) => (x.ok ? [x.scores] : [])).sort((a, b) => (a.stem < b.stem ? -1 : a.stem > b.stem ? 1 : 0));
  if (images.length === 0) {
    const why = [...mismatched, ...failures].slice(0, 3).map((f) => f.message);
    throw new TesgError(`no image could be scored: ${listed(why)}`);
  }

  const methods = rowNames(o);
  const summary: SummaryRow[] = methods.map((method) => ({
    method,
    reference: Boolean(o.sources) && (method === 'IR' || method === 'VI'),
    means: meanRows(images.map((img) => img.rows[method]), metrics),
  }));
  const skipped: EvalSkipped = { unmatched: pairing.unmatched, lacking: pairing.lacking, unreadable: failures, mismatched };
  const skippedCount = skippedStemCount(skipped);
  const caption =
    `Mean over ${images.length} image(s)` +
    (skippedCount > 0 ? ` (${skippedCount} skipped: see per-image.json)` : '') +
    `; best in bold, second underlined${o.sources ? '; source rows are not ranked' : ''}.`;
  const result: EvalResult = {
    metrics,
    methods,
    folders: { ir: o.ir, vi: o.vi, fused: Object.fromEntries(o.fused.map((f) => [f.name, f.dir])) },
    images,
    summary,
    caption,
    table: markdownTable(summary, metrics),
    skipped,
    seconds: 0,
    workers,
  };
  if (o.baseline !== undefined) {
    result.paired = pairedComparison(images, methods, o.baseline, metrics, o.bootstrap);
    result.pairedTable = pairedMarkdown(result.paired);
  }
  result.files = await writeEvalOutputs(result, o.out);
  if (o.html) {
    // Loaded only when asked: the report pulls in Vega and writes images.
    const { writeHtmlReport } = await import('../report/html-report.js');
    result.files.html = await writeHtmlReport(result, o.out, { command: o.command, progress: o.progress });
  }
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}
