/**
 * The one place that picks the tfjs backend. Everything that runs the network (training, fuse, tests,
 * benchmarks) calls `initBackend()` first and never `tf.setBackend` itself.
 *
 * Why wasm: tfjs-node does not install here, and the wasm backend (XNNPACK, SIMD) runs convolutions
 * 5-20x faster than the pure-JS cpu backend. It lacks some gradient kernels and has slow ones;
 * `registerTrainingKernels` adds fast versions (see ./kernels/). The cpu backend stays available as
 * the reference the kernel tests compare against.
 */
import { loadCpuBackend, tf, wasmBackend } from './tfjs-node.cjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { TesgError } from '../errors.js';
import { ensureGradients } from '../model/tfjs.js';
import { registerTrainingKernels } from './kernels/register.js';

// Both backends registered as soon as this module loads (tfjs through require(): ./tfjs-node.cts).
loadCpuBackend();
const { setThreadsCount, setWasmPaths } = wasmBackend();

export type BackendName = 'wasm' | 'cpu';

export interface BackendReport {
  /** The backend tfjs now runs on. */
  backend: BackendName;
  /** WebAssembly SIMD available (wasm only). */
  simd: boolean;
  /** Threads XNNPACK uses (1: the wasm backend is single-threaded in Node; use workers for both cores). */
  threads: number;
  /** Folder the .wasm binaries were loaded from (wasm only). */
  wasmDir: string | null;
  /** Kernels this module registered or replaced for the backend. */
  kernels: string[];
}

const WASM_SIMD_BINARY = 'tfjs-backend-wasm-simd.wasm';

/**
 * The folder holding tfjs-backend-wasm's .wasm files, found through Node's resolver, so it works the
 * same from tsx (src/) and from compiled dist/, and wherever npm hoisted the package.
 */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('@tensorflow/tfjs-backend-wasm');
  } catch {
    throw new TesgError('@tensorflow/tfjs-backend-wasm is not installed: run `npm ci` in the tesg folder');
  }
  const dir = path.dirname(entry);
  if (!existsSync(path.join(dir, WASM_SIMD_BINARY))) {
    throw new TesgError(`${path.join(dir, WASM_SIMD_BINARY)}: missing; reinstall with \`npm ci\``);
  }
  return dir;
}

let current: BackendReport | null = null;
let pathsSet = false;

export interface InitBackendOptions {
  /**
   * Register tfjs-core's gradient functions (default true; training needs them). Inference alone (the
   * SIG detector) passes false: loading them takes 0.4-0.9 s, a third of a cold `tesg fuse`. A later
   * call that wants them loads them then.
   */
  gradients?: boolean;
}

/**
 * Sets up tfjs on `name` (default: wasm) once per process and returns what it chose. Calling it again
 * with the same name is free (apart from loading gradients a first inference-only call skipped); with
 * another name it switches (both backends stay registered).
 */
export async function initBackend(name: BackendName = 'wasm', options: InitBackendOptions = {}): Promise<BackendReport> {
  const gradients = options.gradients ?? true;
  if (current?.backend === name && tf.getBackend() === name) {
    if (gradients) await ensureGradients();
    return current;
  }
  let wasmDir: string | null = null;
  if (name === 'wasm') {
    wasmDir = wasmBinaryDir();
    if (!pathsSet) {
      setWasmPaths(wasmDir + path.sep);
      // One XNNPACK thread per process: parallelism comes from worker replicas (./parallel.ts).
      setThreadsCount(1);
      pathsSet = true;
    }
  }
  const listenersBefore = snapshotProcessListeners();
  const ok = await tf.setBackend(name);
  // Emscripten's Node glue adds uncaughtException/unhandledRejection handlers that rethrow and print
  // the whole minified module source; remove them so errors print as usual.
  removeNewProcessListeners(listenersBefore);
  if (!ok) throw new TesgError(`tfjs backend '${name}' failed to initialise`);
  // tfjs-cpu prints a "you are running in Node, install tfjs-node" banner on first use; here it is
  // chosen on purpose (as the reference), so mark it used.
  if (name === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  await tf.ready();
  // tfjs-core's CommonJS bundle (what Node loads) ships no gradient functions; this registers them.
  if (gradients) await ensureGradients();
  const kernels = registerTrainingKernels(name);
  const simd = name === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false;
  current = { backend: name, simd, threads: 1, wasmDir, kernels };
  return current;
}

/** Bytes the wasm heap has grown to (it never shrinks: the peak), or 0 on other backends. */
export function wasmHeapBytes(): number {
  if (tf.getBackend() !== 'wasm') return 0;
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
}

/** What `initBackend` chose, or null before it ran. */
export function backendReport(): BackendReport | null {
  return current;
}

type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
type ListenerSnapshot = Map<ProcessEvent, unknown[]>;

function snapshotProcessListeners(): ListenerSnapshot {
  const events: ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];
  return new Map(events.map((e) => [e, process.listeners(e as 'uncaughtException')]));
}

function removeNewProcessListeners(before: ListenerSnapshot): void {
  for (const [event, old] of before) {
    for (const l of process.listeners(event as 'uncaughtException')) {
      if (!old.includes(l)) process.removeListener(event, l);
    }
  }
}
