/** `tesg eval` as a library: score folders of fused images and build the Table-1-style summary. */
export { evaluateFolders, type EvalOptions, type EvalResult, type EvalSkipped } from './run.js';
export { markdownTable, meanRows, rankColumn, formatValue, type SummaryRow, type Mark } from './table.js';
export { OUTPUT_FILES, perImageCsv, perImageJson } from './output.js';
export type { FusedFolder, MetricValues, StemScores, StemFailure } from './types.js';
