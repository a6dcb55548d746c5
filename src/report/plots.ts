/**
 * Per-metric distribution plots for the report: for one metric, one horizontal box per method
 * (min-max whiskers, quartile box, median) with a tick per image and a diamond at the mean (the
 * summary table's number) on top, so the spread, the individual images and the table all show. Specified in Vega-Lite, rendered to an SVG string by Vega in Node
 * (no DOM, no canvas: text widths are estimated), and inlined in the page.
 */
import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One method's colour in every plot and in the gallery headers (Tableau 10, as Vega's default). */
export const METHOD_COLOURS = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

export function methodColour(index: number): string {
  return METHOD_COLOURS[index % METHOD_COLOURS.length];
}

export interface DistributionInput {
  metric: string;
  higherIsBetter: boolean;
  /** Row order of the summary table. */
  methods: string[];
  /** method -> value per image (non-finite values are left out of the plot). */
  values: Record<string, number[]>;
}

/** The Vega-Lite spec of one metric's plot (exported for tests and for anyone restyling the report). */
export function distributionSpec(d: DistributionInput): TopLevelSpec {
  const data = d.methods.flatMap((method) => (d.values[method] ?? []).filter(Number.isFinite).map((value) => ({ method, value })));
  const encoding = {
    x: { field: 'value', type: 'quantitative' as const, title: `${d.metric} (${d.higherIsBetter ? 'higher' : 'lower'} is better)`, scale: { zero: false } },
    y: { field: 'method', type: 'nominal' as const, sort: d.methods, title: null },
    color: { field: 'method', type: 'nominal' as const, scale: { domain: d.methods, range: d.methods.map((_, i) => methodColour(i)) }, legend: null },
  };
  return {
    title: { text: d.metric, anchor: 'start', fontSize: 13 },
    width: 330,
    height: { step: 22 },
    background: 'white',
    data: { values: data },
    layer: [
      { mark: { type: 'boxplot', extent: 'min-max', size: 16, opacity: 0.5, median: { color: 'black', thickness: 3 } }, encoding },
      { mark: { type: 'tick', thickness: 1, size: 9, opacity: 0.45, color: 'black' }, encoding: { x: encoding.x, y: encoding.y } },
      // The mean: the number in the summary table.
      { mark: { type: 'point', shape: 'diamond', filled: true, color: 'white', stroke: 'black', strokeWidth: 1, size: 45, opacity: 1 }, encoding: { x: { ...encoding.x, aggregate: 'mean' }, y: encoding.y } },
    ],
    config: { font: 'sans-serif', axis: { labelFontSize: 11, titleFontSize: 11 } },
  };
}

/** Render one metric's plot to a standalone <svg> string. */
export async function distributionSvg(d: DistributionInput): Promise<string> {
  const view = new View(parse(compile(distributionSpec(d)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
