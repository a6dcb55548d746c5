/**
 * Image I/O and classic fusion timings: `npm run bench -- image [IR VI]` (default: the bundled
 * samples/msrs 00537D pair, 640x480). Prints the median of several runs per step, in ms.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listFusionMethods } from '../src/fusion/index.js';
import { readImage } from '../src/image/read.js';
import { encodeImage } from '../src/image/write.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function medianMs(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  await fn(); // warm-up (JIT, sharp thread pool)
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export async function run(args: string[]): Promise<void> {
  const irPath = args[0] ?? path.join(ROOT, 'samples/msrs/ir/00537D.png');
  const viPath = args[1] ?? path.join(ROOT, 'samples/msrs/vi/00537D.png');
  const runs = 7;
  const [ir, vi] = await Promise.all([readImage(irPath), readImage(viPath)]);
  console.log(`pair ${ir.width}x${ir.height} (IR ${ir.channels} ch, VI ${vi.channels} ch), median of ${runs} runs`);
  console.log(`read IR + VI        ${(await medianMs(runs, () => Promise.all([readImage(irPath), readImage(viPath)]))).toFixed(1)} ms`);
  for (const m of listFusionMethods()) {
    const colour = await medianMs(runs, () => m.fuse(ir, vi));
    const gray = await medianMs(runs, () => m.fuse(ir, vi, { gray: true }));
    console.log(`fuse ${m.name.padEnd(14)} ${colour.toFixed(1)} ms colour, ${gray.toFixed(1)} ms gray`);
  }
  const fused = await listFusionMethods()[0].fuse(ir, vi);
  console.log(`encode PNG          ${(await medianMs(runs, () => encodeImage(fused, 'png'))).toFixed(1)} ms`);
  console.log(`encode JPEG q95     ${(await medianMs(runs, () => encodeImage(fused, 'jpeg'))).toFixed(1)} ms`);
}
