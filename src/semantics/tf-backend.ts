import { backendReport, initBackend } from '../runtime/backend.js';

/**
 * The detector runs on whatever backend the process already chose through the shared
 * src/runtime/backend.ts; if none was chosen yet, on its default (wasm: the CenterNet graph takes
 * about 250 ms per 640x480 image there, about 7 s on tfjs-cpu).
 */
export async function ensureTfBackend(): Promise<string> {
  const current = backendReport();
  if (current) return current.backend;
  return (await initBackend()).backend;
}
