/**
 * The browser build's stand-in for ./tfjs-node.cts (web/vite.config.ts aliases that file here): the
 * same exports, through ESM imports that Vite bundles (and tree-shakes). Not loaded by Node.
 */
import * as core from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import type { ConverterApi, WasmBackendApi } from './tfjs-node.cjs';

export { core as tf };

/** Nothing to do: the cpu backend registered when this module loaded. */
export function loadCpuBackend(): void {}

export function wasmBackend(): WasmBackendApi {
  return { setThreadsCount, setWasmPaths };
}

export function converter(): ConverterApi {
  return { loadGraphModel };
}
