/**
 * ONNX Runtime sessions started before the command that needs them has loaded (src/cli/prestart.ts):
 * a cold `tesg fuse` spends its first ~0.1 s loading modules on one core while the other idles, and
 * the network's session takes ~0.25 s CPU to create. Started here, on its worker thread
 * (./onnx-thread.ts), it loads in that idle time instead of competing with the SIG for both cores.
 * OnnxFuser.load takes a session started for the same file and options; any other asks load their own.
 */
import path from 'node:path';
import type { OnnxModelOptions } from './onnx.js';
import { OnnxThreadModel } from './onnx-thread.js';

const started = new Map<string, Promise<OnnxThreadModel | null>>();

function keyOf(file: string, o: OnnxModelOptions): string {
  return `${path.resolve(file)}|${o.threads ?? ''}|${o.spinning ?? false}`;
}

/** Start loading `file` on a worker now; a failure is kept quiet (the later load reports it). */
export function prestartOnnxSession(file: string, options: OnnxModelOptions): void {
  const key = keyOf(file, options);
  if (!started.has(key)) started.set(key, OnnxThreadModel.load(file, options).catch(() => null));
}

/**
 * The session prestarted for exactly this file and options (once: it is handed over), or undefined.
 * Resolves to null when that load failed.
 */
export function takePrestartedSession(file: string, options: OnnxModelOptions): Promise<OnnxThreadModel | null> | undefined {
  const key = keyOf(file, options);
  const p = started.get(key);
  started.delete(key);
  return p;
}
