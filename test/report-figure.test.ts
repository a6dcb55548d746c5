/**
 * `tesg figure` end to end on the two bundled pairs fused by two classic methods: the figure's size
 * from the documented layout (hand-computed here), every cell equal to its input (native size, and
 * resized with sharp lanczos3 as documented), the inset equal to the box enlarged nearest-neighbour,
 * SVG/PDF physical sizes, detections from `tesg downstream detect`'s detection.json, and errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { fuseFolders } from '../src/fusion/index.js';
import { scoreDetections } from '../src/downstream/map.js';
import { writeDetectionReport } from '../src/downstream/report.js';
import type { DetectionRow } from '../src/downstream/detect.js';
import { assertOneLineError, ROOT, tesg } from './helpers/cli.js';

const IR = path.join(ROOT, 'samples/msrs/ir'), VI = path.join(ROOT, 'samples/msrs/vi');
const STEMS = ['00537D', '01102N'];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-figure-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

interface Raw { data: Buffer; width: number; height: number }

/** Decode to RGB (gray replicated), as every figure cell is. */
async function rgb(input: Sharp): Promise<Raw> {
  const { data, info } = await input.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return { data, width: info.width, height: info.height };
  assert.equal(info.channels, 1);
  const out = Buffer.alloc(info.width * info.height * 3);
  for (let i = 0; i < info.width * info.height; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = data[i];
  return { data: out, width: info.width, height: info.height };
}

/** The box enlarged nearest-neighbour as documented: inset pixel (i, j) = box pixel (floor(i w / iw), floor(j h / ih)). */
function enlarged(src: Raw, box: { x: number; y: number; w: number; h: number }, iw: number, ih: number): Raw {
  const data = Buffer.alloc(iw * ih * 3);
  for (let j = 0; j < ih; j++) {
    for (let i = 0; i < iw; i++) {
      const s = ((box.y + Math.floor((j * box.h) / ih)) * src.width + box.x + Math.floor((i * box.w) / iw)) * 3;
      src.data.copy(data, (j * iw + i) * 3, s, s + 3);
    }
  }
  return { data, width: iw, height: ih };
}

/** Pixels of `fig` in the rectangle (x, y, w, h) differing from `ref`'s (rx, ry) origin, skipping `skip(x, y)` (figure-relative to the rectangle). */
function differing(fig: Raw, x0: number, y0: number, ref: Raw, w: number, h: number, skip: (x: number, y: number) => boolean = () => false, rx = 0, ry = 0): number {
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (skip(x, y)) continue;
      const f = ((y0 + y) * fig.width + x0 + x) * 3, r = ((ry + y) * ref.width + rx + x) * 3;
      if (fig.data[f] !== ref.data[r] || fig.data[f + 1] !== ref.data[r + 1] || fig.data[f + 2] !== ref.data[r + 2]) n++;
    }
  }
  return n;
}

const columnDirs = (avg: string, max: string) => [IR, VI, avg, max];

test('tesg figure: size, cells equal to the inputs, inset equal to the enlarged box; SVG and PDF', async () => {
  const avg = path.join(tmp, 'avg'), max = path.join(tmp, 'max');
  await fuseFolders(IR, VI, avg, { method: 'average', progressTty: false });
  await fuseFolders(IR, VI, max, { method: 'max', progressTty: false });
  const out = path.join(tmp, 'fig.png');
  const r = await tesg('figure', '--ir', IR, '--vi', VI, '--fused', `Average=${avg}`, '--fused', `Max=${max}`, '--images', STEMS.join(','), '--box', '250,180,100,80', '-o', out, '--dpi', '150');
  assert.equal(r.code, 0, r.stderr);
  // Documented layout for 640x480 images at native cell size, 150 dpi: gap round(640/80) = 8, font
  // min(round(9*150/72), round(640/7)) = 19 px, title band round(19*1.7) = 32, line width round(640/200) = 3.
  const meta = await sharp(out).metadata();
  assert.deepEqual([meta.width, meta.height, meta.density], [4 * 640 + 3 * 8, 32 + 2 * 480 + 8, 150]);
  assert.match(r.stdout, /2584x1000 px = 17\.23x6\.67 in at 150 dpi; 2 row\(s\) x 4 column\(s\) IR, VI, Average, Max; cells 640x480/);
  const fig = await rgb(sharp(out));
  // The inset: 42 % of 640 = 269 px wide, 269*80/100 = 215 high, in the corner farthest from the box
  // centre (300, 220): bottom right, 3 px (the frame) inside the cell.
  const inset = { x: 640 - 3 - 269, y: 480 - 3 - 215, w: 269, h: 215 };
  const inBoxBand = (x: number, y: number) => x >= 250 - 3 && x < 350 + 3 && y >= 180 - 3 && y < 260 + 3 && !(x >= 253 && x < 347 && y >= 183 && y < 257);
  const inInsetOrFrame = (x: number, y: number) => x >= inset.x - 3 && y >= inset.y - 3;
  for (let row = 0; row < 2; row++) {
    for (let col = 0; col < 4; col++) {
      const file = path.join(columnDirs(avg, max)[col], `${STEMS[row]}.png`);
      const src = await rgb(sharp(file));
      const at = { x: col * 648, y: 32 + row * 488 };
      const where = `row ${STEMS[row]}, column ${col}`;
      assert.equal(differing(fig, at.x, at.y, src, 640, 480, (x, y) => inBoxBand(x, y) || inInsetOrFrame(x, y)), 0, `cell = input outside the box outline and inset (${where})`);
      const zoomed = enlarged(src, { x: 250, y: 180, w: 100, h: 80 }, 269, 215);
      assert.equal(differing(fig, at.x + inset.x, at.y + inset.y, zoomed, inset.w, inset.h), 0, `inset = box enlarged nearest-neighbour (${where})`);
      // The box outline is drawn in red on the cell, so it does differ there.
      assert.ok(differing(fig, at.x, at.y, src, 640, 480, (x, y) => !inBoxBand(x, y)) > 500, `box outline drawn (${where})`);
    }
  }

  // Resized cells (--cell-width 320): each cell is the input resized by sharp's lanczos3, as documented.
  const small = path.join(tmp, 'small.png');
  const r2 = await tesg('figure', '--ir', IR, '--vi', VI, '--fused', `Average=${avg}`, '--fused', `Max=${max}`, '--images', '01102N', '--cell-width', '320', '-o', small);
  assert.equal(r2.code, 0, r2.stderr);
  const fig2 = await rgb(sharp(small));
  // gap round(320/80) = 4, font min(round(9*300/72) = 38, round(320/7) = 46) = 38, title round(38*1.7) = 65.
  assert.deepEqual([fig2.width, fig2.height], [4 * 320 + 3 * 4, 65 + 240]);
  for (let col = 0; col < 4; col++) {
    const ref = await rgb(sharp(path.join(columnDirs(avg, max)[col], '01102N.png')).resize(320, 240, { fit: 'fill', kernel: 'lanczos3' }));
    assert.equal(differing(fig2, col * 324, 65, ref, 320, 240), 0, `resized cell ${col} = sharp lanczos3 of the input`);
  }

  // SVG and PDF: same layout, physical size = pixels / dpi.
  const svgFile = path.join(tmp, 'fig.svg'), pdfFile = path.join(tmp, 'fig.pdf');
  for (const f of [svgFile, pdfFile]) {
    const x = await tesg('figure', '--ir', IR, '--vi', VI, '--fused', `Average=${avg}`, '--fused', `Max=${max}`, '--images', STEMS.join(','), '--box', '250,180,100,80', '-o', f, '--dpi', '150');
    assert.equal(x.code, 0, x.stderr);
  }
  const svg = readFileSync(svgFile, 'utf8');
  assert.match(svg, /^<svg [^>]*width="17\.2267in" height="6\.6667in" viewBox="0 0 2584 1000"/);
  assert.equal(svg.match(/<image /g)?.length, 8 + 8, '8 cells and 8 insets embedded');
  assert.doesNotMatch(svg, /href="(?!data:)/, 'nothing linked from outside the file');
  const pdf = readFileSync(pdfFile).toString('latin1');
  assert.ok(pdf.startsWith('%PDF-'));
  assert.match(pdf, /\/MediaBox \[0 0 1240\.32 480\]/, '2584 x 1000 px at 150 dpi = 1240.32 x 480 pt');
});

test('tesg figure --detections draws the boxes of `tesg downstream detect` with class and score', async () => {
  const max = path.join(tmp, 'max-det');
  await fuseFolders(IR, VI, max, { method: 'max', progressTty: false });
  // detection.json exactly as `tesg downstream detect` writes it (its own writer), for a Max row.
  const dets = [
    { cls: 0, score: 0.91, box: { x1: 0.25, y1: 0.3, x2: 0.4, y2: 0.8 } },
    { cls: 2, score: 0.1, box: { x1: 0.6, y1: 0.5, x2: 0.9, y2: 0.9 } }, // below the 0.2 threshold: not drawn
  ];
  const row: DetectionRow = { method: 'Max', dir: max, images: 1, seconds: 0, detections: { '00537D': dets }, scores: scoreDetections([{ gt: [], dets }], { classCount: 3, scoreThreshold: 0.2 }) };
  const detDir = path.join(tmp, 'det');
  await writeDetectionReport(detDir, [row], 'test', { scoreThreshold: 0.2 });
  const out = path.join(tmp, 'det.png');
  const r = await tesg('figure', '--ir', IR, '--vi', VI, '--fused', `Max=${max}`, '--images', '00537D', '--detections', detDir, '-o', out);
  assert.equal(r.code, 0, r.stderr);
  const fig = await rgb(sharp(out));
  const cyan = (x: number, y: number) => {
    const i = (y * fig.width + x) * 3;
    return fig.data[i] === 0x00 && fig.data[i + 1] === 0xe5 && fig.data[i + 2] === 0xff;
  };
  // cell origin of Max (column 2): x = 2 * (640 + 8); title band at 300 dpi: round(38 * 1.7) = 65.
  const ox = 2 * 648, oy = 65;
  // The person box's left edge (x = 0.25 * 640 = 160) is the class colour (person = cyan) down its height.
  const left = Array.from({ length: 100 }, (_, k) => cyan(ox + 160, oy + 200 + k)).filter(Boolean).length;
  assert.ok(left >= 95, `person box edge drawn in cyan (${left}/100 px)`);
  // No cyan in the IR and VI cells (their columns have no detections) nor at the low-score car box.
  let stray = 0;
  for (let y = oy; y < oy + 480; y++) for (let x = 0; x < 2 * 648; x++) if (cyan(x, y)) stray++;
  assert.equal(stray, 0);
  const carEdge = Array.from({ length: 100 }, (_, k) => fig.data[((oy + 260 + k) * fig.width + ox + 384) * 3 + 1]).filter((g) => g === 0x8c).length;
  assert.ok(carEdge < 5, 'the 0.10-score car is not drawn');
});

test('tesg figure: one-line errors for a missing stem, a box outside the image, a bad output name', async () => {
  const base = ['figure', '--ir', IR, '--vi', VI];
  const a = await tesg(...base, '--images', '00537D,nope', '-o', path.join(tmp, 'x.png'));
  assert.equal(a.code, 2);
  assert.match(a.stderr, /^tesg: error: .*samples\/msrs\/ir: no image with the name stem 'nope' \(IR column\); check --images\n$/);
  const b = await tesg(...base, '--images', '00537D', '--box', '600,400,100,100', '-o', path.join(tmp, 'x.png'));
  assertOneLineError(b, /^tesg: error: --box 600,400,100,100 reaches outside image '00537D' \(640x480\)/);
  const c = await tesg(...base, '--images', '00537D', '-o', path.join(tmp, 'x.gif'));
  assertOneLineError(c, /^tesg: error: .*x\.gif: name the figure \.png, \.svg or \.pdf/);
});
