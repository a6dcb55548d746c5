/**
 * Geometry of `tesg figure`: a grid with one row per image and one column per source or method, a
 * title band on top, optional zoom boxes with an enlarged inset in a corner of every cell. Pure
 * arithmetic in figure pixels; figure-render.ts draws it.
 *
 * Cell size: every cell is cellW x cellH. cellW is --cell-width, or (with --width-in) the figure's
 * width in inches x dpi shared by the columns, or else the first image's own width; cellH keeps the
 * first image's aspect ratio. An image of w x h is scaled by s = min(cellW / w, cellH / h) to
 * round(w s) x round(h s) (sharp, lanczos3; not resampled at all when that is its own size) and
 * centred in its cell on black. Zoom boxes are given in image pixels and drawn scaled the same way.
 *
 * Inset: the box's pixels cropped from the full-resolution image and enlarged nearest-neighbour by
 * sharp (every source pixel stays a crisp block; inset pixel (i, j) shows box pixel
 * (floor(i w / iw), floor(j h / ih)), libvips' convention) to insetFraction of the cell's image width (height by the
 * box's aspect, at most 60 % of the image height), framed in the box's colour, in the free corner
 * farthest from the row's boxes (each box of a row gets its own corner, in the order given).
 */
import { UsageError } from '../errors.js';

/** A zoom box in image pixels; `stem` limits it to that image's row. */
export interface ZoomBox {
  x: number;
  y: number;
  w: number;
  h: number;
  stem?: string;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Zoom box colours, in the order the boxes are given. */
export const BOX_COLOURS = ['#ff2a2a', '#21d04a', '#2f7bff', '#e040fb'];

export interface FigureLayoutInput {
  columns: string[];
  /** Each row's stem and its images' size (all columns of a row share it). */
  rows: Array<{ stem: string; width: number; height: number }>;
  boxes: ZoomBox[];
  dpi: number;
  cellWidth?: number;
  widthInches?: number;
  /** Inset width as a fraction of the cell's image width (0.1 .. 0.9). */
  insetFraction: number;
}

export interface RowBox {
  colour: string;
  /** The box in image pixels. */
  source: Rect;
  /** The box drawn on the cell, cell-relative figure pixels (fractional). */
  drawn: Rect;
  /** The inset's pixels, cell-relative integers; its frame is drawn just outside. */
  inset: Rect;
}

export interface FigureRowLayout {
  stem: string;
  /** Cell-relative area the image covers (integers). */
  content: Rect;
  boxes: RowBox[];
}

export interface FigureLayout {
  width: number;
  height: number;
  cellWidth: number;
  cellHeight: number;
  gap: number;
  titleHeight: number;
  fontSize: number;
  lineWidth: number;
  /** Top-left corner of the cell at (row, column). */
  cellOrigin(row: number, col: number): { x: number; y: number };
  rows: FigureRowLayout[];
}

/** Parse `x,y,w,h` or `STEM:x,y,w,h` (image pixels, integers). */
export function parseZoomBox(text: string): ZoomBox {
  const m = /^(?:(.+):)?(\d+),(\d+),(\d+),(\d+)$/.exec(text.trim());
  if (!m || Number(m[4]) < 1 || Number(m[5]) < 1) {
    throw new UsageError(`--box expects x,y,w,h or STEM:x,y,w,h in image pixels with w,h >= 1 (e.g. --box 300,200,80,60), got '${text}'`);
  }
  return { stem: m[1], x: Number(m[2]), y: Number(m[3]), w: Number(m[4]), h: Number(m[5]) };
}

type Corner = 'br' | 'bl' | 'tr' | 'tl';

function insetRect(content: Rect, size: { w: number; h: number }, corner: Corner, margin: number): Rect {
  const x = corner[1] === 'l' ? content.x + margin : content.x + content.w - margin - size.w;
  const y = corner[0] === 't' ? content.y + margin : content.y + content.h - margin - size.h;
  return { x, y, w: size.w, h: size.h };
}

function rowBoxes(boxes: ZoomBox[], content: Rect, img: { stem: string; width: number; height: number }, insetFraction: number, margin: number): RowBox[] {
  const sx = content.w / img.width, sy = content.h / img.height;
  const free: Corner[] = ['br', 'bl', 'tr', 'tl'];
  return boxes.map((b, k) => {
    if (b.x + b.w > img.width || b.y + b.h > img.height) {
      throw new UsageError(`--box ${b.x},${b.y},${b.w},${b.h} reaches outside image '${img.stem}' (${img.width}x${img.height}); boxes are in image pixels`);
    }
    let w = Math.max(1, Math.round(insetFraction * content.w));
    let h = Math.max(1, Math.round((w * b.h) / b.w));
    if (h > 0.6 * content.h) {
      h = Math.max(1, Math.round(0.6 * content.h));
      w = Math.max(1, Math.round((h * b.w) / b.h));
    }
    // The free corner farthest from the nearest box centre of the row, so insets hide no box.
    const centres = boxes.map((o) => [(o.x + o.w / 2) / img.width, (o.y + o.h / 2) / img.height]);
    const dist = (c: Corner) => Math.min(...centres.map(([cx, cy]) => Math.hypot((c[1] === 'l' ? 0 : 1) - cx, (c[0] === 't' ? 0 : 1) - cy)));
    const corner = free.reduce((best, c) => (dist(c) > dist(best) + 1e-9 ? c : best));
    free.splice(free.indexOf(corner), 1);
    return {
      colour: BOX_COLOURS[k],
      source: { x: b.x, y: b.y, w: b.w, h: b.h },
      drawn: { x: content.x + b.x * sx, y: content.y + b.y * sy, w: b.w * sx, h: b.h * sy },
      inset: insetRect(content, { w, h }, corner, margin),
    };
  });
}

export function layoutFigure(o: FigureLayoutInput): FigureLayout {
  if (o.rows.length === 0) throw new UsageError('--images names no image');
  const cols = o.columns.length;
  const first = o.rows[0];
  const narrowGap = (w: number) => Math.max(2, Math.round(w / 80));
  let cellWidth = o.cellWidth ?? first.width;
  if (o.cellWidth === undefined && o.widthInches !== undefined) {
    const total = Math.round(o.widthInches * o.dpi);
    cellWidth = Math.floor((total - narrowGap(total / cols) * (cols - 1)) / cols);
  }
  if (!Number.isInteger(cellWidth) || cellWidth < 16) throw new UsageError(`cells would be ${cellWidth} px wide; give a larger --cell-width or --width-in (at least 16 px per cell)`);
  const cellHeight = Math.max(1, Math.round((cellWidth * first.height) / first.width));
  const gap = narrowGap(cellWidth);
  // Titles at 9 pt for the chosen dpi, but never more than a seventh of a cell.
  const fontSize = Math.max(8, Math.min(Math.round((9 * o.dpi) / 72), Math.round(cellWidth / 7)));
  const titleHeight = Math.round(fontSize * 1.7);
  const lineWidth = Math.max(2, Math.round(cellWidth / 200));
  const perRow = (stem: string) => o.boxes.filter((b) => b.stem === undefined || b.stem === stem);
  if (o.boxes.some((b) => b.stem !== undefined && !o.rows.some((r) => r.stem === b.stem))) {
    const b = o.boxes.find((x) => x.stem !== undefined && !o.rows.some((r) => r.stem === x.stem))!;
    throw new UsageError(`--box ${b.stem}:... names image '${b.stem}', which is not in --images`);
  }
  const rows = o.rows.map((r) => {
    const boxes = perRow(r.stem);
    if (boxes.length > BOX_COLOURS.length) throw new UsageError(`image '${r.stem}' has ${boxes.length} boxes; at most ${BOX_COLOURS.length} (one inset per corner)`);
    const s = Math.min(cellWidth / r.width, cellHeight / r.height);
    const w = Math.max(1, Math.round(r.width * s)), h = Math.max(1, Math.round(r.height * s));
    const content = { x: Math.floor((cellWidth - w) / 2), y: Math.floor((cellHeight - h) / 2), w, h };
    return { stem: r.stem, content, boxes: rowBoxes(boxes, content, r, o.insetFraction, lineWidth) };
  });
  return {
    width: cols * cellWidth + (cols - 1) * gap,
    height: titleHeight + o.rows.length * cellHeight + (o.rows.length - 1) * gap,
    cellWidth,
    cellHeight,
    gap,
    titleHeight,
    fontSize,
    lineWidth,
    cellOrigin: (row, col) => ({ x: col * (cellWidth + gap), y: titleHeight + row * (cellHeight + gap) }),
    rows,
  };
}
