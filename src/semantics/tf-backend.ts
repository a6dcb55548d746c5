import { backendReport, initBackend } from '../runtime/backend.js';

/**
 * The detector runs on whatever backend the process already chose through the shared
 * src/runtime/backend.ts; if none was chosen yet, on its default (wasm: the CenterNet graph takes
 * about 250 ms per 640x480 image there, about 7 s on tfjs-cpu).
 */
export async function ensureTfBackend(): Promise<string> {
  const current = backendReport();
  if (current) return current.backend;
  // One set-up at a time: two detectors loading at once (e.g. two providers) would otherwise both
  // call tf.setBackend('wasm'), and the second fails while the first is still initialising.
  // Inference only: no gradient functions (a third of a cold `tesg fuse`; training loads them when it starts).
  pending ??= initBackend('wasm', { gradients: false })
    .then((r) => r.backend)
    .finally(() => (pending = undefined));
  return pending;
}

let pending: Promise<string> | undefined;
