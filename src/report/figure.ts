/**
 * `tesg figure` as a library call: the qualitative comparison figure of fusion papers (rows = images,
 * columns = IR, VI, each method), with zoom boxes and enlarged insets, optionally the boxes
 * `tesg downstream detect` found. Reads with tesg's reader (any format it scores), lays out with
 * figure-layout.ts (which documents how cells are resized), draws with figure-render.ts.
 */
import path from 'node:path';
import { sharp } from '../image/sharp.js';
import { InputError, UsageError } from '../errors.js';
import { assertSameSize, readImage } from '../image/read.js';
import type { Image8 } from '../image/types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { imagesByStem } from '../util/pairing.js';
import { CLASS_COLOURS, readDetections, type FigureDetections } from './figure-detections.js';
import { layoutFigure, type FigureLayout, type ZoomBox } from './figure-layout.js';
import { figureFormat, renderFigure, type FigureScene, type Mark, type PlacedImage } from './figure-render.js';

export const DEFAULT_FIGURE_DPI = 300;
export const DEFAULT_INSET_FRACTION = 0.42;

export interface FigureOptions {
  ir: string;
  vi: string;
  fused: Array<{ name: string; dir: string }>;
  /** Name stems, one row each, in this order. */
  images: string[];
  boxes?: ZoomBox[];
  /** `tesg downstream detect --out` folder (or its detection.json). */
  detections?: string;
  /** Lowest detection score drawn (default: the detector's threshold recorded in detection.json). */
  minScore?: number;
  /** Output file: .png, .svg or .pdf. */
  out: string;
  dpi?: number;
  cellWidth?: number;
  widthInches?: number;
  insetFraction?: number;
}

export interface FigureResult {
  file: string;
  layout: FigureLayout;
  columns: string[];
}

function toRgb(img: Image8): Uint8Array {
  if (img.channels === 3) return img.data;
  const out = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = img.data[i];
  return out;
}

async function resized(rgb: Uint8Array, w: number, h: number, to: { w: number; h: number; kernel: 'lanczos3' | 'nearest' }, crop?: { x: number; y: number; w: number; h: number }): Promise<Uint8Array> {
  if (!crop && w === to.w && h === to.h) return rgb;
  let s = sharp(rgb, { raw: { width: w, height: h, channels: 3 } });
  if (crop) s = s.extract({ left: crop.x, top: crop.y, width: crop.w, height: crop.h });
  return new Uint8Array(await s.resize(to.w, to.h, { fit: 'fill', kernel: to.kernel }).raw().toBuffer());
}

async function readRows(columns: Array<{ name: string; dir: string }>, stems: string[]): Promise<Image8[][]> {
  const byStem = await Promise.all(columns.map((c) => imagesByStem(c.dir)));
  return Promise.all(
    stems.map(async (stem) => {
      const files = columns.map((c, i) => {
        const f = byStem[i].get(stem);
        if (!f) throw new InputError(c.dir, `no image with the name stem '${stem}' (${c.name} column); check --images`);
        return f;
      });
      const imgs = await Promise.all(files.map((f) => readImage(f)));
      imgs.forEach((img, i) => assertSameSize(imgs[0], files[0], img, files[i]));
      return imgs;
    }),
  );
}

function detectionMarks(det: FigureDetections, method: string, stem: string, minScore: number, at: { x: number; y: number }, content: { x: number; y: number; w: number; h: number }, layout: FigureLayout): Mark[] {
  const boxes = det.byMethod.get(method)?.[stem] ?? [];
  const size = Math.max(8, Math.round(layout.fontSize * 0.5));
  return boxes
    .filter((d) => d.score >= minScore)
    .flatMap((d): Mark[] => {
      const colour = CLASS_COLOURS[d.cls % CLASS_COLOURS.length];
      const x = at.x + content.x + d.box.x1 * content.w, y = at.y + content.y + d.box.y1 * content.h;
      const label = `${det.classes[d.cls] ?? d.cls} ${d.score.toFixed(2)}`;
      // Label above the box when there is room in the cell, else just inside its top; never past the
      // cell's right edge (text width estimated at 0.6 em per character).
      const lw = label.length * size * 0.6 + size * 0.5, lh = size * 1.3;
      const ly = y - at.y - content.y >= lh ? y - lh : y;
      const lx = Math.max(at.x + content.x, Math.min(x, at.x + content.x + content.w - lw));
      return [
        { kind: 'rect', x, y, w: (d.box.x2 - d.box.x1) * content.w, h: (d.box.y2 - d.box.y1) * content.h, stroke: colour, lineWidth: Math.max(1, layout.lineWidth - 1) },
        { kind: 'rect', x: lx, y: ly, w: lw, h: lh, fill: colour },
        { kind: 'text', x: lx + size * 0.25, y: ly + size * 1.02, text: label, size, fill: '#000000', anchor: 'start' },
      ];
    });
}

/** Build and write the figure; returns its path and layout. */
export async function makeFigure(o: FigureOptions): Promise<FigureResult> {
  const format = figureFormat(o.out);
  const dpi = o.dpi ?? DEFAULT_FIGURE_DPI;
  if (!Number.isFinite(dpi) || dpi < 10 || dpi > 2400) throw new UsageError(`--dpi must be in 10..2400, got ${dpi}`);
  const insetFraction = o.insetFraction ?? DEFAULT_INSET_FRACTION;
  if (!(insetFraction >= 0.1 && insetFraction <= 0.9)) throw new UsageError(`--inset must be a fraction in 0.1..0.9, got ${insetFraction}`);
  const columns = [{ name: 'IR', dir: o.ir }, { name: 'VI', dir: o.vi }, ...o.fused];
  const names = columns.map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UsageError(`column name '${dup}' is given twice; --fused names must differ from each other and from IR, VI`);
  const rows = await readRows(columns, o.images);
  const det = o.detections ? await readDetections(o.detections) : undefined;
  const minScore = o.minScore ?? det?.scoreThreshold ?? 0;
  const layout = layoutFigure({
    columns: names,
    rows: o.images.map((stem, r) => ({ stem, width: rows[r][0].width, height: rows[r][0].height })),
    boxes: o.boxes ?? [],
    dpi,
    cellWidth: o.cellWidth,
    widthInches: o.widthInches,
    insetFraction,
  });
  const scene: FigureScene = { width: layout.width, height: layout.height, dpi, images: [], marks: [], overlays: [] };
  names.forEach((name, c) => {
    const x = layout.cellOrigin(0, c).x + layout.cellWidth / 2;
    scene.marks.push({ kind: 'text', x, y: Math.round(layout.titleHeight * 0.7), text: name, size: layout.fontSize, fill: '#000000', anchor: 'middle' });
  });
  for (let r = 0; r < rows.length; r++) {
    const { content, boxes, stem } = layout.rows[r];
    for (let c = 0; c < columns.length; c++) {
      const img = rows[r][c];
      const rgb = toRgb(img);
      const at = layout.cellOrigin(r, c);
      if (content.w !== layout.cellWidth || content.h !== layout.cellHeight) {
        scene.images.push({ x: at.x, y: at.y, width: layout.cellWidth, height: layout.cellHeight, data: new Uint8Array(layout.cellWidth * layout.cellHeight * 3) });
      }
      const cell: PlacedImage = { x: at.x + content.x, y: at.y + content.y, width: content.w, height: content.h, data: await resized(rgb, img.width, img.height, { ...content, kernel: 'lanczos3' }) };
      scene.images.push(cell);
      if (det) scene.marks.push(...detectionMarks(det, columns[c].name, stem, minScore, at, content, layout));
      for (const b of boxes) {
        const lw = layout.lineWidth;
        scene.marks.push({ kind: 'rect', x: at.x + b.drawn.x, y: at.y + b.drawn.y, w: b.drawn.w, h: b.drawn.h, stroke: b.colour, lineWidth: lw });
        scene.marks.push({ kind: 'rect', x: at.x + b.inset.x - lw / 2, y: at.y + b.inset.y - lw / 2, w: b.inset.w + lw, h: b.inset.h + lw, stroke: b.colour, lineWidth: lw });
        const inset = await resized(rgb, img.width, img.height, { w: b.inset.w, h: b.inset.h, kernel: 'nearest' }, b.source);
        scene.overlays.push({ x: at.x + b.inset.x, y: at.y + b.inset.y, width: b.inset.w, height: b.inset.h, data: inset });
      }
    }
  }
  await writeFileAtomic(o.out, await renderFigure(scene, format));
  return { file: path.resolve(o.out), layout, columns: names };
}
