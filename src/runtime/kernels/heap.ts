/**
 * Direct access to tfjs-wasm tensors in the wasm heap: typed-array views, zero-copy aliases and a
 * cache-blocked transpose. The transpose exists because tfjs-wasm's own runs at about a third of
 * this loop's speed here (16-28 ms against 9 ms for [73728, 32]), and every transposed matmul pays it.
 */
import { tf } from '../tfjs-node.cjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

interface HeapData {
  id: number;
  memoryOffset: number;
}

/** The backend internals used here (tfjs-backend-wasm 4.22). */
interface WasmInternals {
  dataIdMap: { get(dataId: object): HeapData; delete(dataId: object): void };
  wasm: { HEAPU8: Uint8Array; tfjs: { disposeData(id: number): void } };
}

function internals(backend: BackendWasm): WasmInternals {
  return backend as unknown as WasmInternals;
}

export function wasmBackend(): BackendWasm | null {
  return tf.getBackend() === 'wasm' ? (tf.backend() as BackendWasm) : null;
}

/** A float32 view of a tensor's heap memory. Take views after any allocation (growth detaches them). */
export function heapF32(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  return backend.typedArrayFromHeap(t) as Float32Array;
}

export function heapOffset(backend: BackendWasm, t: tf.TensorInfo): number {
  return internals(backend).dataIdMap.get(t.dataId).memoryOffset;
}

export function heapU8(backend: BackendWasm): Uint8Array {
  return internals(backend).wasm.HEAPU8;
}

/** A float32 tensor info that aliases `byteOffset` of the heap (memory owned by another tensor). */
export function heapAlias(backend: BackendWasm, byteOffset: number, shape: number[]): tf.TensorInfo {
  return backend.makeOutput(shape, 'float32', byteOffset);
}

/** Drops an alias without freeing the memory it points into (disposeData would free it). */
export function dropAlias(backend: BackendWasm, t: tf.TensorInfo): void {
  const b = internals(backend);
  b.wasm.tfjs.disposeData(b.dataIdMap.get(t.dataId).id);
  b.dataIdMap.delete(t.dataId);
}

/** dst[b, c, r] = src[b, r, c] for flat [batch, rows, cols] arrays, in 32x32 tiles. */
export function transposeLastTwoLoop(src: Float32Array, dst: Float32Array, batch: number, rows: number, cols: number): void {
  const T = 32;
  const plane = rows * cols;
  for (let b = 0; b < batch; b++) {
    const base = b * plane;
    for (let r0 = 0; r0 < rows; r0 += T) {
      const r1 = Math.min(r0 + T, rows);
      for (let c0 = 0; c0 < cols; c0 += T) {
        const c1 = Math.min(c0 + T, cols);
        for (let r = r0; r < r1; r++) {
          const s = base + r * cols;
          for (let c = c0; c < c1; c++) dst[base + c * rows + r] = src[s + c];
        }
      }
    }
  }
}

/** [batch, rows, cols] -> [batch, cols, rows]; the heap loop on wasm, tf.transpose elsewhere. */
export function transposeLastTwo(t: tf.Tensor, batch: number, rows: number, cols: number): tf.Tensor3D {
  const backend = wasmBackend();
  if (backend === null || t.dtype !== 'float32') {
    return tf.transpose(tf.reshape(t, [batch, rows, cols]), [0, 2, 1]) as tf.Tensor3D;
  }
  const out = backend.makeOutput([batch, cols, rows], 'float32');
  transposeLastTwoLoop(heapF32(backend, t), heapF32(backend, out), batch, rows, cols);
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor3D;
}
