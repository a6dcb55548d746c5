/**
 * tfjs as Node loads it: every Node-side module takes tfjs-core (`tf`), the cpu and wasm backends
 * and the graph-model converter from here, never from '@tensorflow/...' directly.
 *
 * Why: tfjs ships CommonJS bundles for Node (0.5-1.2 MB each). An ESM `import` of a CommonJS package
 * makes Node run its CommonJS export lexer over the whole bundle before evaluating it; `require()`
 * does not. For the four packages that is about 0.25 s of CPU against 0.06 s (measured on the 2-core
 * dev machine, one fresh process each way; docs/onnx-export.md, cold start), a tenth of a cold
 * `tesg fuse`. This file is CommonJS (.cts -> .cjs), so its `import`s compile to `require()`; an ESM
 * module importing this small file pays the lexer on a few lines only.
 *
 * One tfjs instance: require() and any remaining ESM import of these packages (tests) share Node's
 * CommonJS module cache, hence one engine and one kernel/gradient registry (src/model/tfjs.ts relies
 * on that). `tf` is a view of tfjs-core's exports (TypeScript's esModuleInterop wraps them in
 * getters: the same functions and classes; `import tf = require()` would avoid it, but the browser
 * app's type check, module ESNext, rejects that syntax). The browser build (web/) aliases this file to ./tfjs-browser.ts, the same exports through
 * ESM imports (web/vite.config.ts).
 *
 * The backends and the converter load on first call of their getter (their registration is a side
 * effect of loading): the modules that used to import them at the top call the getter at the top.
 */
import * as core from '@tensorflow/tfjs-core';
import type * as Converter from '@tensorflow/tfjs-converter';
import type * as Wasm from '@tensorflow/tfjs-backend-wasm';

export { core as tf };

/** Registers tfjs's pure-JS 'cpu' backend (the reference the wasm kernels are tested against). */
export function loadCpuBackend(): void {
  require('@tensorflow/tfjs-backend-cpu');
}

/** What src/ uses of tfjs-backend-wasm (only that: the browser build keeps tree-shaking the rest). */
export type WasmBackendApi = Pick<typeof Wasm, 'setThreadsCount' | 'setWasmPaths'>;
/** What src/ uses of tfjs-converter. */
export type ConverterApi = Pick<typeof Converter, 'loadGraphModel'>;

/** @tensorflow/tfjs-backend-wasm (loading it registers the 'wasm' backend). */
export function wasmBackend(): WasmBackendApi {
  return require('@tensorflow/tfjs-backend-wasm') as typeof Wasm;
}

/** @tensorflow/tfjs-converter (loadGraphModel, for the SIG detector). */
export function converter(): ConverterApi {
  return require('@tensorflow/tfjs-converter') as typeof Converter;
}
