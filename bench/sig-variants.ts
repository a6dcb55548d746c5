/**
 * How SIG v3 was chosen (docs/sig.md, "Version 3"): its rules one by one on MSRS *train*, never the
 * test labels:
 *   npm run bench -- sig-variants [--data DIR]
 * DIR (default ../shared/data/msrs/train) holds ir/, vi/ and label/. The pairs: every night pair and
 * every third day pair (by the MSRS name), split into halves A (even) and B (odd) of that list, so a
 * rule that only fits one half shows. The detector runs once per image (onnxruntime) and every row
 * reuses its detections (an injected ObjectDetector), so each row is the real ThermalSig with those
 * options, not a re-implementation. Scores as bench/sig.ts: instance recall per class, day / night by
 * the name, pixel recall and precision of M.
 */
import path from 'node:path';
import { readImage } from '../src/image/read.js';
import type { Image8 } from '../src/image/types.js';
import type { Detection, DetectOptions } from '../src/semantics/centernet-decode.js';
import { emptyInstanceTally, msrsTimeOfDay, pixelScores, tallyInstances, tallyPixels, type InstanceTally, type PixelTally } from '../src/semantics/mask-score.js';
import { loadSigDetector } from '../src/semantics/sig-detector.js';
import { defaultProviders, runSig } from '../src/semantics/sig.js';
import { THERMAL_SIG_V3, type ThermalSigOptions } from '../src/semantics/thermal-provider.js';
import { pairByStem } from '../src/util/pairing.js';
import { optionValue } from './lib/args.js';

const night = THERMAL_SIG_V3.night!;
const rule1 = { confirmBelow: night.confirmBelow };
const rule2 = { confirmedMinScore: night.confirmedMinScore };
const rule3 = { refine: night.refine, refineByClass: night.refineByClass };
const rule4 = { warm: night.warm };

/** The rows: [label, ThermalSig options]. Rows 1.-4. apply their rules day and night; v3 at night only. */
const ROWS: Array<[string, ThermalSigOptions]> = [
  ['v2', {}],
  ['1. (day and night)', rule1],
  ['1.+2. (day and night)', { ...rule1, ...rule2 }],
  ['1.+2.+4. (day and night)', { ...rule1, ...rule2, ...rule4 }],
  ['1.-4. (day and night)', { ...rule1, ...rule2, ...rule3, ...rule4 }],
  ['v3 (1.-4. at night)', THERMAL_SIG_V3],
];

interface Tally {
  day: InstanceTally;
  night: InstanceTally;
  px: PixelTally;
}

export async function run(args: string[]): Promise<void> {
  const dir = optionValue(args, 'data', path.resolve('..', 'shared', 'data', 'msrs', 'train'));
  const { matched } = await pairByStem({ ir: path.join(dir, 'ir'), vi: path.join(dir, 'vi'), label: path.join(dir, 'label') });
  const items = matched.filter((m, i) => msrsTimeOfDay(m.stem) === 'night' || i % 3 === 0);
  const detector = await loadSigDetector(0);
  const seen = new WeakMap<Image8, Detection[]>(); // weak: a pair's images go once its rows are done
  // Every row asks for the same minScore (0.1); the injected detector answers from the first run.
  const replay = { detect: async (img: Image8, o: DetectOptions = {}) => (seen.get(img) ?? []).filter((d) => d.score >= (o.minScore ?? 0.2)) };
  const tallies: Tally[][] = ROWS.map(() => [0, 1].map(() => ({ day: emptyInstanceTally(), night: emptyInstanceTally(), px: { tp: 0, maskPx: 0, keyPx: 0 } })));
  const t0 = performance.now();
  for (const [k, it] of items.entries()) {
    const [ir, vi, label] = await Promise.all([readImage(it.files.ir), readImage(it.files.vi), readImage(it.files.label)]);
    const [dv, di] = [await detector.detect(vi, { minScore: 0.1 }), await detector.detect(ir, { minScore: 0.1 })];
    const when = msrsTimeOfDay(it.stem)!;
    for (const [r, [, options]] of ROWS.entries()) {
      const [irc, vic] = [{ ...ir }, { ...vi }];
      seen.set(irc, di);
      seen.set(vic, dv);
      const providers = defaultProviders({ version: 'v2', ...options, detector: replay });
      const res = await runSig({ ir: irc, vi: vic, providers });
      const t = tallies[r][k % 2];
      tallyInstances(t[when], res.mask, label.data, label.channels);
      tallyPixels(t.px, res.mask, label.data, label.channels);
    }
    if (k % 100 === 99) process.stderr.write(`sig-variants: ${k + 1}/${items.length} pairs, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  await detector.dispose();
  const rate = (t: InstanceTally, c: string) => (t.objects[c] ? (t.found[c] / t.objects[c]).toFixed(3) : '-');
  const classes = ['person', 'car', 'bike'];
  const both = (f: (t: Tally) => string, r: number) => `${f(tallies[r][0])} / ${f(tallies[r][1])}`;
  console.log(`SIG v3's rules on ${items.length} pairs of ${dir} (every night pair, every third day pair; A = even, B = odd of them)`);
  console.log(`| A / B | ${classes.map((c) => `day ${c}`).join(' | ')} | ${classes.map((c) => `night ${c}`).join(' | ')} | M recall | M precision |`);
  console.log(`|---|${'---|'.repeat(8)}`);
  for (const [r, [label]] of ROWS.entries()) {
    const cells = [
      ...classes.map((c) => both((t) => rate(t.day, c), r)),
      ...classes.map((c) => both((t) => rate(t.night, c), r)),
      both((t) => pixelScores(t.px).recall.toFixed(3), r),
      both((t) => pixelScores(t.px).precision.toFixed(3), r),
    ];
    console.log(`| ${label} | ${cells.join(' | ')} |`);
  }
}
