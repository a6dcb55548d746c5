/**
 * The built-in SIG, version 1 (DetectorSig), version 2 (ThermalSig: + IR warm objects) and version 3
 * (ThermalSig with THERMAL_SIG_V3), side by side in one run, against MSRS segmentation labels:
 *   npm run bench -- sig [--data DIR] [--every N] [--limit N] [--backends tfjs,onnx]
 * DIR holds ir/, vi/ and label/ (default ../shared/data/msrs/test, the 50 labelled pairs).
 * Instance recall (issue 12's measure, src/semantics/mask-score.ts): an object is a 4-connected
 * region of one key class (person, car, bike) of at least 30 pixels, found when at least half of it
 * is inside M; split day / night by the MSRS name suffix. Pixel recall / precision of M pooled over
 * all pairs. Time: runSig per pair on decoded images, each version on its own copies (no shared
 * detections), the rows alternating which goes first; medians. Rows v1 and v2 run the detector on
 * this thread only (detectorWorkers 0, VI then IR); the row 'v2 + detector worker' is v2 with VI and
 * IR detected at once on two threads (ParallelDetector, src/semantics/detector-pool.ts; the same
 * masks to the bit, so only its time differs). Those three run the detector on tfjs-wasm (what the
 * browser runs); the 'onnxruntime' rows run the same graph converted to ONNX on onnxruntime with all
 * cores (src/semantics/centernet-ort.ts, the CLI's default); v3 (confirmed weak boxes, tighter
 * ellipses, warm-object floors and growth: docs/sig.md) runs only there. `--backends onnx` skips the
 * tfjs rows. The 1-minute load average is printed with the times.
 */
import os from 'node:os';
import path from 'node:path';
import { readImage } from '../src/image/read.js';
import type { Image8 } from '../src/image/types.js';
import { emptyInstanceTally, msrsTimeOfDay, pixelScores, tallyInstances, tallyPixels, type InstanceTally, type PixelTally } from '../src/semantics/mask-score.js';
import { DEFAULT_SIG_VERSION, defaultProviders, runSig, type BuiltinSigVersion, type SigProviders } from '../src/semantics/sig.js';
import { pairByStem } from '../src/util/pairing.js';
import { numberOption, optionValue } from './lib/args.js';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;
const copy = (img: Image8): Image8 => ({ ...img });

interface Row {
  version: BuiltinSigVersion;
  label: string;
  providers: SigProviders;
  day: InstanceTally;
  night: InstanceTally;
  px: PixelTally;
  ms: number[];
}

export async function run(args: string[]): Promise<void> {
  const dir = optionValue(args, 'data', path.resolve('..', 'shared', 'data', 'msrs', 'test'));
  const every = numberOption(args, 'every', 1);
  const limit = numberOption(args, 'limit', 1000000);
  const { matched } = await pairByStem({ ir: path.join(dir, 'ir'), vi: path.join(dir, 'vi'), label: path.join(dir, 'label') });
  const items = matched.filter((_, i) => i % every === 0).slice(0, limit);
  const setups = [
    ['v1', 0, 'tfjs', 'v1, tfjs'],
    ['v2', 0, 'tfjs', 'v2, tfjs'],
    ['v2', 1, 'tfjs', 'v2 + detector worker, tfjs'],
    ['v1', 1, 'onnx', 'v1, onnxruntime'],
    ['v2', 1, 'onnx', 'v2, onnxruntime'],
    ['v3', 1, 'onnx', 'v3, onnxruntime'],
  ] as const;
  // --backends onnx: only the onnxruntime rows (v1, v2, v3 side by side in a third of the time).
  const backends = optionValue(args, 'backends', 'tfjs,onnx').split(',');
  const rows: Row[] = setups.filter(([, , backend]) => backends.includes(backend)).map(([version, detectorWorkers, detectorBackend, label]) => ({
    version,
    // the CLI's default: `tesg sig` without --sig-version, on onnxruntime
    label: version === DEFAULT_SIG_VERSION && detectorBackend === 'onnx' ? `${label} (default)` : label,
    providers: defaultProviders({ version, detectorWorkers, detectorBackend }),
    day: emptyInstanceTally(),
    night: emptyInstanceTally(),
    px: { tp: 0, maskPx: 0, keyPx: 0 },
    ms: [],
  }));
  const loadStart = os.loadavg()[0];
  // Warm up: model load and first-run compilation are not per-pair costs. Three rounds: the detector
  // worker loads while the first runs, and compiles on its first images.
  if (items.length) {
    const [ir0, vi0] = await Promise.all([readImage(items[0].files.ir), readImage(items[0].files.vi)]);
    for (let round = 0; round < 3; round++) for (const r of rows) await runSig({ ir: copy(ir0), vi: copy(vi0), providers: r.providers });
  }
  for (const [k, it] of items.entries()) {
    const [ir, vi, label] = await Promise.all([readImage(it.files.ir), readImage(it.files.vi), readImage(it.files.label)]);
    const when = msrsTimeOfDay(it.stem);
    for (const r of k % 2 ? [...rows].reverse() : rows) {
      const t0 = performance.now();
      const res = await runSig({ ir: copy(ir), vi: copy(vi), providers: r.providers });
      r.ms.push(performance.now() - t0);
      if (when) tallyInstances(r[when], res.mask, label.data, label.channels);
      tallyPixels(r.px, res.mask, label.data, label.channels);
    }
  }
  const rate = (t: InstanceTally, c: string) => (t.objects[c] ? (t.found[c] / t.objects[c]).toFixed(3) : '-');
  const classes = ['person', 'car', 'bike'];
  console.log(`Built-in SIG v1, v2, v3 on ${items.length} pairs of ${dir}`);
  console.log(`objects (>= 30 px): day ${classes.map((c) => `${c} ${rows[0].day.objects[c]}`).join(', ')}; night ${classes.map((c) => `${c} ${rows[0].night.objects[c]}`).join(', ')}`);
  console.log(`| SIG | ${classes.map((c) => `day ${c}`).join(' | ')} | ${classes.map((c) => `night ${c}`).join(' | ')} | M recall | M precision | ms per pair (median) |`);
  console.log(`|---|${'---:|'.repeat(9)}`);
  for (const r of rows) {
    const p = pixelScores(r.px);
    console.log(`| ${r.label} (${r.providers.masker.name}) | ${classes.map((c) => rate(r.day, c)).join(' | ')} | ${classes.map((c) => rate(r.night, c)).join(' | ')} | ${p.recall.toFixed(3)} | ${p.precision.toFixed(3)} | ${median(r.ms).toFixed(0)} |`);
  }
  const ms = (label: string) => median(rows.find((r) => r.label.startsWith(label))?.ms ?? []);
  const ratio = (a: string, b: string) => `${a} / ${b} ${(ms(a) / ms(b)).toFixed(3)}`;
  const pairs: [string, string][] = [['v2, tfjs', 'v1, tfjs'], ['v2 + detector worker', 'v2, tfjs'], ['v1, onnx', 'v1, tfjs'], ['v2, onnx', 'v2, tfjs'], ['v3, onnx', 'v2, onnx'], ['v3, onnx', 'v1, tfjs']];
  console.log(`time ratios (medians, same run): ${pairs.filter(([a, b]) => Number.isFinite(ms(a) / ms(b))).map(([a, b]) => ratio(a, b)).join('; ')}`);
  console.log(`load average (1 min) ${loadStart.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end, ${os.availableParallelism()} cores`);
  for (const r of rows) await (r.providers.masker as unknown as { dispose(): Promise<void> }).dispose();
}
