/**
 * Files `tesg eval` writes into --out, each atomically (temp + rename): per-image.csv (one row per
 * image and method), per-image.json (the same values plus the means, the folders and what was
 * skipped, and the paired comparison with --baseline) and summary.md (the printed table, and the comparison). Non-finite values are "inf"/"nan" in the CSV and
 * null in the JSON (JSON has no Infinity).
 */
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import type { EvalResult } from './run.js';

export const OUTPUT_FILES = { csv: 'per-image.csv', json: 'per-image.json', table: 'summary.md' } as const;

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return String(v); // shortest text that reads back to the same double
}

export function perImageCsv(r: EvalResult): string {
  const lines = [['image', 'method', ...r.metrics].map(csvField).join(',')];
  for (const img of r.images) {
    for (const method of r.methods) {
      const v = img.rows[method];
      lines.push([csvField(img.stem), csvField(method), ...r.metrics.map((m) => csvNumber(v[m]))].join(','));
    }
  }
  return lines.join('\n') + '\n';
}

export function perImageJson(r: EvalResult): string {
  const doc = {
    tool: 'tesg eval',
    conventions: 'as the CDDFuse evaluator: gray = round(0.299R + 0.587G + 0.114B), float64 0..255; per metric see src/metrics/*.ts',
    metrics: r.metrics,
    methods: r.methods,
    folders: r.folders,
    count: r.images.length,
    means: Object.fromEntries(r.summary.map((row) => [row.method, row.means])),
    images: r.images.flatMap((img) => r.methods.map((method) => ({ image: img.stem, method, ...img.rows[method] }))),
    skipped: r.skipped,
    ...(r.paired ? { paired: r.paired } : {}),
  };
  return JSON.stringify(doc, null, 1) + '\n';
}

/** summary.md's text, also what `tesg eval` prints: the caption, the table, and the --baseline comparison when asked. */
export function summaryMarkdown(r: EvalResult): string {
  return `${r.caption}\n\n${r.table}\n${r.pairedTable ? `\n${r.pairedTable}\n` : ''}`;
}

/** Write the three files; returns their paths. */
export async function writeEvalOutputs(r: EvalResult, outDir: string): Promise<{ csv: string; json: string; table: string }> {
  const files = {
    csv: path.join(outDir, OUTPUT_FILES.csv),
    json: path.join(outDir, OUTPUT_FILES.json),
    table: path.join(outDir, OUTPUT_FILES.table),
  };
  await writeFileAtomic(files.csv, perImageCsv(r));
  await writeFileAtomic(files.json, perImageJson(r));
  await writeFileAtomic(files.table, summaryMarkdown(r));
  return files;
}
