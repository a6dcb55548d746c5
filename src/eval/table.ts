/**
 * The summary in the form of the paper's Table 1: one row per method, one column per metric, the mean
 * over images, best in bold and second underlined. Pure (no Node imports): the browser page uses it too.
 */
import { findMetric } from '../metrics/index.js';
import type { MetricValues } from './types.js';

export interface SummaryRow {
  method: string;
  /** Reference rows (IR, VI themselves) are shown but not ranked. */
  reference: boolean;
  means: MetricValues;
}

/** Mean of each metric over a method's per-image values (non-finite values propagate, as numpy). */
export function meanRows(perImage: MetricValues[], metrics: string[]): MetricValues {
  const out: MetricValues = {};
  for (const m of metrics) out[m] = perImage.reduce((s, v) => s + v[m], 0) / perImage.length;
  return out;
}

/** Fixed decimals as in the paper; inf/nan spelled out. */
export function formatValue(v: number, decimals = 3): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return v.toFixed(decimals);
}

export type Mark = 'best' | 'second' | null;

/**
 * Rank marks for one metric column. Ranking uses the values as displayed, so numbers that print the
 * same get the same mark (ties share it); NaN and reference rows are not ranked.
 */
export function rankColumn(values: number[], ranked: boolean[], higherIsBetter: boolean, decimals = 3): Mark[] {
  const shown = values.map((v) => (Number.isNaN(v) ? NaN : Number(formatValue(v, decimals).replace('inf', 'Infinity'))));
  const distinct = [...new Set(shown.filter((v, i) => ranked[i] && !Number.isNaN(v)))].sort((a, b) => (higherIsBetter ? b - a : a - b));
  return shown.map((v, i) => {
    if (!ranked[i] || Number.isNaN(v)) return null;
    if (v === distinct[0]) return 'best';
    if (distinct.length > 1 && v === distinct[1]) return 'second';
    return null;
  });
}

/** One summary cell as shown: the formatted mean and its rank mark. */
export interface SummaryCell {
  text: string;
  mark: Mark;
}

/** What both the Markdown table and the HTML report show: header labels and formatted, ranked cells. */
export interface SummaryGrid {
  /** "EN ↑", "MSE ↓", ...: metric and direction. */
  headers: string[];
  /** Row labels: the method, or "IR (source)" for reference rows. */
  labels: string[];
  cells: SummaryCell[][];
}

export function summaryGrid(rows: SummaryRow[], metrics: string[], decimals = 3): SummaryGrid {
  const dir = metrics.map((m) => findMetric(m)?.higherIsBetter ?? true);
  const marks = metrics.map((m, j) =>
    rankColumn(rows.map((r) => r.means[m]), rows.map((r) => !r.reference), dir[j], decimals),
  );
  return {
    headers: metrics.map((m, j) => `${m} ${dir[j] ? '↑' : '↓'}`),
    labels: rows.map((r) => (r.reference ? `${r.method} (source)` : r.method)),
    cells: rows.map((r, i) => metrics.map((m, j) => ({ text: formatValue(r.means[m], decimals), mark: marks[j][i] }))),
  };
}

/** The Markdown table; arrows in the header give each metric's direction. */
export function markdownTable(rows: SummaryRow[], metrics: string[], decimals = 3): string {
  const g = summaryGrid(rows, metrics, decimals);
  const header = `| Method | ${g.headers.join(' | ')} |`;
  const rule = `|---|${metrics.map(() => '---:').join('|')}|`;
  const body = g.cells.map((row, i) => {
    const cells = row.map(({ text, mark }) => (mark === 'best' ? `**${text}**` : mark === 'second' ? `<u>${text}</u>` : text));
    return `| ${g.labels[i]} | ${cells.join(' | ')} |`;
  });
  return [header, rule, ...body].join('\n');
}
