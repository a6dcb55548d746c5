/**
 * SIG default: mask quality against MSRS segmentation labels and time per pair.
 *   npm run bench -- sig [--data DIR] [--every N] [--limit N]
 * DIR holds ir/, vi/ and label/ (default ../shared/data/msrs/test, the 50 labelled pairs).
 * Recall = share of person+car+bike label pixels inside the mask; precision = share of the mask that
 * is those classes; pooled over all pixels of all pairs. Rows: M_vis, M_ir and M = M_vis U M_ir of the
 * default, and the same detections painted as bare boxes and as inscribed ellipses (what the
 * refinement is worth). Time: runSig per pair (images already decoded), median, and its parts.
 */
import path from 'node:path';
import { readImage } from '../src/image/read.js';
import { pairByStem } from '../src/util/pairing.js';
import { DetectorSig } from '../src/semantics/default-provider.js';
import { LexiconEncoder } from '../src/semantics/lexicon-encoder.js';
import { irCue, masksFromBoxes, unionMask, viCue, type RefineOptions } from '../src/semantics/mask-refine.js';
import { runSig } from '../src/semantics/sig.js';
import type { BinaryMask } from '../src/semantics/types.js';
import type { Detection } from '../src/semantics/detector.js';

/** MSRS label values of the key classes: 1 car, 2 person, 3 bike. */
const KEY_LABELS = new Set([1, 2, 3]);

interface Tally {
  tp: number;
  maskPx: number;
  keyPx: number;
}

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}

function tallyInto(t: Tally, m: BinaryMask, label: Uint8Array, labelChannels: number): void {
  for (let i = 0; i < m.data.length; i++) {
    const key = KEY_LABELS.has(label[i * labelChannels]);
    if (key) t.keyPx++;
    if (m.data[i]) {
      t.maskPx++;
      if (key) t.tp++;
    }
  }
}

function boxMask(w: number, h: number, dets: Detection[]): BinaryMask {
  const data = new Uint8Array(w * h);
  for (const d of dets) {
    for (let y = Math.max(0, Math.floor(d.y1)); y < Math.min(h, Math.ceil(d.y2)); y++) {
      for (let x = Math.max(0, Math.floor(d.x1)); x < Math.min(w, Math.ceil(d.x2)); x++) data[y * w + x] = 1;
    }
  }
  return { width: w, height: h, data };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;

export async function run(args: string[]): Promise<void> {
  const dir = arg(args, '--data', path.resolve('..', 'shared', 'data', 'msrs', 'test'));
  const every = Number(arg(args, '--every', '1'));
  const limit = Number(arg(args, '--limit', '1000000'));
  const { matched } = await pairByStem({ ir: path.join(dir, 'ir'), vi: path.join(dir, 'vi'), label: path.join(dir, 'label') });
  const items = matched.filter((_, i) => i % every === 0).slice(0, limit);
  const det = new DetectorSig();
  const providers = { captioner: det, masker: det, encoder: new LexiconEncoder() };
  const rows = ['M_vis', 'M_ir', 'M', 'box M_vis', 'box M_ir', 'box M', 'ellipse M_vis', 'ellipse M_ir', 'ellipse M'];
  const tallies = new Map(rows.map((r) => [r, { tp: 0, maskPx: 0, keyPx: 0 }]));
  const times: number[] = [], capT: number[] = [], maskT: number[] = [], encT: number[] = [];
  const ellipse: RefineOptions = { mode: 'otsu', minContrast: Infinity, fallbackScale: 1 };
  // Warm up: model load and first-run compilation are not per-pair costs.
  if (items.length) {
    const [ir0, vi0] = await Promise.all([readImage(items[0].files.ir), readImage(items[0].files.vi)]);
    await runSig({ ir: { ...ir0 }, vi: { ...vi0 }, providers });
  }
  for (const it of items) {
    const [ir, vi, label] = await Promise.all([readImage(it.files.ir), readImage(it.files.vi), readImage(it.files.label)]);
    const t0 = performance.now();
    const res = await runSig({ ir, vi, providers });
    times.push(performance.now() - t0);
    // Parts, timed again on fresh image objects (so the detection memo does not hide the detector).
    const vi2 = { ...vi }, ir2 = { ...ir };
    let t = performance.now();
    await det.caption(vi2, ir2);
    capT.push(performance.now() - t);
    t = performance.now();
    await det.masks({ vi: vi2, ir: ir2, caption: res.caption, captionWithout: res.captionWithout, keywords: res.keywords });
    maskT.push(performance.now() - t);
    t = performance.now();
    await providers.encoder.encode(res.caption);
    encT.push(performance.now() - t);

    const add = (name: string, m: BinaryMask) => tallyInto(tallies.get(name)!, m, label.data, label.channels);
    add('M_vis', res.maskVis);
    add('M_ir', res.maskIr);
    add('M', res.mask);
    const pick = (ds: Detection[]) => ds.filter((d) => res.keywords.includes(d.label));
    const [dv, di] = [pick(await det.detections(vi)), pick(await det.detections(ir))];
    const bv = boxMask(vi.width, vi.height, dv), bi = boxMask(ir.width, ir.height, di);
    add('box M_vis', bv);
    add('box M_ir', bi);
    add('box M', unionMask(bv, bi));
    const ev = masksFromBoxes(vi, dv, viCue, ellipse), ei = masksFromBoxes(ir, di, irCue, ellipse);
    add('ellipse M_vis', ev);
    add('ellipse M_ir', ei);
    add('ellipse M', unionMask(ev, ei));
  }
  await det.dispose();
  console.log(`SIG default on ${items.length} pairs of ${dir}`);
  console.log('| mask | recall | precision | F1 | mask share of image |');
  console.log('|---|---|---|---|---|');
  const px = items.length ? items.length * 640 * 480 : 1;
  for (const [name, t] of tallies) {
    const r = t.tp / Math.max(1, t.keyPx), p = t.tp / Math.max(1, t.maskPx);
    console.log(`| ${name} | ${r.toFixed(3)} | ${p.toFixed(3)} | ${((2 * r * p) / Math.max(1e-9, r + p)).toFixed(3)} | ${(t.maskPx / px).toFixed(4)} |`);
  }
  console.log(`time per pair (runSig, decoded images, median of ${times.length}): ${median(times).toFixed(0)} ms` +
    ` [captioner incl. the 2 detector runs ${median(capT).toFixed(0)} ms, masker (refinement; detections shared) ${median(maskT).toFixed(0)} ms, text encoder ${median(encT).toFixed(2)} ms]`);
}
