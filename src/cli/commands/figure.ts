import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { DEFAULT_FIGURE_DPI, DEFAULT_INSET_FRACTION, makeFigure } from '../../report/figure.js';
import { parseZoomBox, type ZoomBox } from '../../report/figure-layout.js';
import { checkOutputPath } from '../../util/output-path.js';
import { num } from '../options.js';

/**
 * `tesg figure --ir DIR --vi DIR --fused NAME=DIR ... --images STEM,... -o fig.png`: the paper-style
 * comparison grid. The work is in src/report/figure.ts; this file parses options and reports.
 */
interface FigureCliOptions {
  ir: string;
  vi: string;
  fused: Array<{ name: string; dir: string }>;
  images: string;
  box: ZoomBox[];
  detections?: string;
  minScore?: number;
  out: string;
  dpi: number;
  cellWidth?: number;
  widthIn?: number;
  inset: number;
}

function parseFused(value: string, previous: Array<{ name: string; dir: string }>): Array<{ name: string; dir: string }> {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new UsageError(`--fused expects NAME=DIR (e.g. --fused TeSG=out/tesg), got '${value}'`);
  return [...previous, { name: value.slice(0, eq), dir: value.slice(eq + 1) }];
}

async function runFigure(o: FigureCliOptions): Promise<void> {
  const images = o.images.split(',').map((s) => s.trim()).filter(Boolean);
  checkOutputPath(o.out, 'file', '-o takes the figure\'s file name (.png, .svg or .pdf), e.g. -o fig.png');
  const r = await makeFigure({
    ir: o.ir, vi: o.vi, fused: o.fused, images, boxes: o.box, detections: o.detections, minScore: o.minScore,
    out: o.out, dpi: o.dpi, cellWidth: o.cellWidth, widthInches: o.widthIn, insetFraction: o.inset,
  });
  const L = r.layout;
  process.stdout.write(
    `wrote ${o.out} (${L.width}x${L.height} px = ${(L.width / o.dpi).toFixed(2)}x${(L.height / o.dpi).toFixed(2)} in at ${o.dpi} dpi; ` +
      `${images.length} row(s) x ${r.columns.length} column(s) ${r.columns.join(', ')}; cells ${L.cellWidth}x${L.cellHeight})\n`,
  );
}

export function register(program: Command): void {
  program
    .command('figure')
    .description('a publication-style grid of IR, VI and fused images (rows = images) with zoom boxes, insets and detections')
    .requiredOption('--ir <dir>', 'folder of infrared images')
    .requiredOption('--vi <dir>', 'folder of visible images')
    .option('--fused <name=dir>', 'a method name (the column title) and its folder of fused images (repeat; columns in this order)', parseFused, [])
    .requiredOption('--images <stems>', 'comma-separated name stems, one row each, e.g. 00537D,01102N')
    .option('--box <x,y,w,h>', 'zoom box in image pixels, drawn in every cell with an enlarged inset (repeat, up to 4; STEM:x,y,w,h for one row only)', (v: string, prev: ZoomBox[]) => [...prev, parseZoomBox(v)], [] as ZoomBox[])
    .option('--detections <dir>', 'draw the boxes of `tesg downstream detect` (its --out folder): class and score, per column whose title is a detect method name')
    .option('--min-score <s>', 'lowest detection score drawn (default: the threshold recorded by detect, 0.2)', num('--min-score', 0, 1))
    .requiredOption('-o, --out <file>', 'the figure: .png, .svg or .pdf')
    .option('--dpi <n>', 'resolution: written into the PNG, and the physical size of the SVG/PDF (pixels / dpi inches)', num('--dpi', 10, 2400, true), DEFAULT_FIGURE_DPI)
    .option('--cell-width <px>', 'cell width in pixels (default: the first image\'s width, i.e. no resampling)', num('--cell-width', 16, 20000, true))
    .option('--width-in <inches>', 'instead of --cell-width: the whole figure\'s width in inches at --dpi', num('--width-in', 0.5, 100))
    .option('--inset <fraction>', 'inset width as a fraction of the cell\'s image width', num('--inset', 0.1, 0.9), DEFAULT_INSET_FRACTION)
    .addHelpText(
      'after',
      '\nCells are all the same size: cell width as above, height by the first image\'s aspect ratio. Each image is scaled' +
        '\nby s = min(cellW/w, cellH/h) to round(w s) x round(h s) with sharp\'s lanczos3 (not resampled when that is its own' +
        '\nsize) and centred on black. An inset is the box\'s full-resolution pixels enlarged nearest-neighbour, in the free' +
        '\ncell corner farthest from the row\'s boxes, framed in the box\'s colour.',
    )
    .action(runFigure);
}
