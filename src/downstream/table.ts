import { formatValue, rankColumn } from '../eval/table.js';

/**
 * Markdown/CSV for the downstream tables (paper Tables 2 and 3): one row per method, best in bold,
 * second underlined. Every row is ranked, IR and VI included, as the paper's Table 3 ranks them.
 */
export interface TableColumn {
  header: string;
  /** Decimals shown (the paper: 3 for detection, 2 for IoU in percent). */
  decimals: number;
  higherIsBetter?: boolean;
  /** false: shown without bold/underline and without an arrow (e.g. a spread). Default true. */
  ranked?: boolean;
}

export interface TableRow {
  name: string;
  /** One value per column; NaN prints "nan" and is not ranked. */
  values: number[];
}

export function downstreamMarkdown(columns: TableColumn[], rows: TableRow[]): string {
  const marks = columns.map((c, j) =>
    rankColumn(rows.map((r) => r.values[j]), rows.map(() => c.ranked ?? true), c.higherIsBetter ?? true, c.decimals),
  );
  const arrow = (c: TableColumn) => ((c.ranked ?? true) ? ((c.higherIsBetter ?? true) ? ' ↑' : ' ↓') : '');
  const header = `| Method | ${columns.map((c) => `${c.header}${arrow(c)}`).join(' | ')} |`;
  const rule = `|---|${columns.map(() => '---:').join('|')}|`;
  const body = rows.map((r, i) => {
    const cells = columns.map((c, j) => {
      const text = formatValue(r.values[j], c.decimals);
      const m = marks[j][i];
      return m === 'best' ? `**${text}**` : m === 'second' ? `<u>${text}</u>` : text;
    });
    return `| ${r.name} | ${cells.join(' | ')} |`;
  });
  return [header, rule, ...body].join('\n');
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV with full precision (the Markdown rounds). */
export function downstreamCsv(columns: string[], rows: { name: string; values: (number | string)[] }[]): string {
  return [['method', ...columns].map(csvCell).join(','), ...rows.map((r) => [r.name, ...r.values.map(String)].map(csvCell).join(','))].join('\n') + '\n';
}
