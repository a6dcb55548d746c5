/**
 * Drawing a figure scene (placed RGB images, then vector marks, then insets on top) to PNG (sharp
 * composites the raw pixels exactly where the layout puts them; the marks are an SVG layer rendered
 * by sharp's librsvg), SVG (images embedded as PNG data URIs, marks as SVG elements) or PDF (pdfkit,
 * built-in Helvetica, so no font is needed). The physical size is the pixel size at `dpi` in all three.
 */
import PDFDocument from 'pdfkit';
import { sharp } from '../image/sharp.js';
import { UsageError } from '../errors.js';

/** An RGB image placed at integer figure pixels; drawn unscaled. */
export interface PlacedImage {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Interleaved RGB, width * height * 3 bytes. */
  data: Uint8Array;
}

export type Mark =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; stroke?: string; fill?: string; lineWidth?: number }
  | { kind: 'text'; x: number; y: number; text: string; size: number; fill: string; anchor: 'start' | 'middle'; bold?: boolean };

export interface FigureScene {
  width: number;
  height: number;
  dpi: number;
  images: PlacedImage[];
  marks: Mark[];
  /** Drawn last (the zoom insets). */
  overlays: PlacedImage[];
}

export type FigureFormat = 'png' | 'svg' | 'pdf';

export function figureFormat(file: string): FigureFormat {
  const ext = file.toLowerCase().split('.').pop();
  if (ext === 'png' || ext === 'svg' || ext === 'pdf') return ext;
  throw new UsageError(`${file}: name the figure .png, .svg or .pdf (the format follows the extension)`);
}

const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

function escapeXml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function svgMark(m: Mark): string {
  if (m.kind === 'rect') {
    return `<rect x="${m.x}" y="${m.y}" width="${m.w}" height="${m.h}" fill="${m.fill ?? 'none'}"${m.stroke ? ` stroke="${m.stroke}" stroke-width="${m.lineWidth ?? 1}"` : ''}/>`;
  }
  return `<text x="${m.x}" y="${m.y}" font-family="${FONT}" font-size="${m.size}" fill="${m.fill}" text-anchor="${m.anchor}"${m.bold ? ' font-weight="bold"' : ''}>${escapeXml(m.text)}</text>`;
}

async function pngOf(img: PlacedImage): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
}

async function renderPng(s: FigureScene): Promise<Buffer> {
  const raw = (img: PlacedImage) => ({ input: Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), raw: { width: img.width, height: img.height, channels: 3 as const }, left: img.x, top: img.y });
  const marks = `<svg xmlns="http://www.w3.org/2000/svg" width="${s.width}" height="${s.height}">${s.marks.map(svgMark).join('')}</svg>`;
  return sharp({ create: { width: s.width, height: s.height, channels: 3, background: '#ffffff' } })
    .composite([...s.images.map(raw), { input: Buffer.from(marks), left: 0, top: 0 }, ...s.overlays.map(raw)])
    .png()
    .withDensity(s.dpi)
    .toBuffer();
}

async function renderSvg(s: FigureScene): Promise<Buffer> {
  const image = async (img: PlacedImage, pixelated: boolean) =>
    `<image x="${img.x}" y="${img.y}" width="${img.width}" height="${img.height}"${pixelated ? ' style="image-rendering:pixelated"' : ''} href="data:image/png;base64,${(await pngOf(img)).toString('base64')}"/>`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${(s.width / s.dpi).toFixed(4)}in" height="${(s.height / s.dpi).toFixed(4)}in" viewBox="0 0 ${s.width} ${s.height}">`,
    `<rect width="${s.width}" height="${s.height}" fill="#ffffff"/>`,
    ...(await Promise.all(s.images.map((i) => image(i, false)))),
    ...s.marks.map(svgMark),
    ...(await Promise.all(s.overlays.map((i) => image(i, true)))),
    '</svg>\n',
  ];
  return Buffer.from(parts.join('\n'));
}

async function renderPdf(s: FigureScene): Promise<Buffer> {
  const pt = 72 / s.dpi;
  const doc = new PDFDocument({ size: [s.width * pt, s.height * pt], margin: 0, info: { Title: 'tesg figure', Creator: 'tesg figure' } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.scale(pt);
  for (const img of s.images) doc.image(await pngOf(img), img.x, img.y, { width: img.width, height: img.height });
  for (const m of s.marks) {
    if (m.kind === 'rect') {
      doc.rect(m.x, m.y, m.w, m.h);
      if (m.fill && m.stroke) doc.lineWidth(m.lineWidth ?? 1).fillAndStroke(m.fill, m.stroke);
      else if (m.fill) doc.fill(m.fill);
      else if (m.stroke) doc.lineWidth(m.lineWidth ?? 1).stroke(m.stroke);
    } else {
      doc.font(m.bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(m.size).fillColor(m.fill);
      const w = doc.widthOfString(m.text);
      // pdfkit places text by its top; the marks give the baseline (as SVG does).
      doc.text(m.text, m.anchor === 'middle' ? m.x - w / 2 : m.x, m.y - m.size * 0.78, { lineBreak: false });
    }
  }
  for (const img of s.overlays) doc.image(await pngOf(img), img.x, img.y, { width: img.width, height: img.height });
  doc.end();
  return done;
}

/** The figure file's bytes in the given format. */
export function renderFigure(s: FigureScene, format: FigureFormat): Promise<Buffer> {
  return format === 'png' ? renderPng(s) : format === 'svg' ? renderSvg(s) : renderPdf(s);
}
