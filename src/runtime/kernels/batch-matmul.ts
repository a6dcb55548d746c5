/**
 * BatchMatMul for the wasm backend. tfjs-wasm's own kernel is fast (XNNPACK, 15-27 GFLOP/s here) only
 * for one matrix pair with no transpose flag; a batch > 1 or a transpose flag drops to a plain loop at
 * 2 GFLOP/s. Channel attention hits exactly those cases ([B, HW, C]^T . [B, HW, C] and its gradients),
 * so this kernel makes the transposes explicit (one memory pass) and runs each batch entry through the
 * fast path on zero-copy views of the wasm heap.
 */
import { tf } from '../tfjs-node.cjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { dropAlias, heapAlias, heapOffset, heapU8, transposeLastTwo } from './heap.js';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

export function makeBatchMatMul(fast2d: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as BackendWasm;
    const { transposeA, transposeB } = attrs as unknown as MatMulAttrs;
    const a = inputs.a as tf.Tensor;
    const b = inputs.b as tf.Tensor;
    const ra = a.shape.length;
    const rb = b.shape.length;
    const batchA = a.shape.slice(0, -2).reduce((s, v) => s * v, 1);
    const batchB = b.shape.slice(0, -2).reduce((s, v) => s * v, 1);
    const sameBatchDims = ra === rb && a.shape.slice(0, -2).every((v, i) => v === b.shape[i]);
    const simple = (batchA === batchB && sameBatchDims) || batchA === 1 || batchB === 1;
    const alreadyFast = batchA === 1 && batchB === 1 && !transposeA && !transposeB;
    if (!simple || alreadyFast || a.dtype !== 'float32' || b.dtype !== 'float32') return fast2d(args);
    const [ar, ac] = a.shape.slice(-2);
    const [br, bc] = b.shape.slice(-2);
    const M = transposeA ? ac : ar;
    const K = transposeA ? ar : ac;
    const N = transposeB ? br : bc;
    const batch = Math.max(batchA, batchB);
    const outShape = [...(batchA >= batchB ? a : b).shape.slice(0, -2), M, N];
    return tf.tidy(() => {
      // Untransposed operands [batch, M, K] and [batch, K, N]: at most one transpose pass each.
      const A = transposeA ? transposeLastTwo(a, batchA, ar, ac) : a;
      const B = transposeB ? transposeLastTwo(b, batchB, br, bc) : b;
      const out = tf.engine().makeTensorFromTensorInfo(backend.makeOutput([batch, M, N], 'float32'));
      for (let i = 0; i < batch; i++) {
        const ai = heapAlias(backend, heapOffset(backend, A) + (batchA === 1 ? 0 : i * M * K * 4), [M, K]);
        const bi = heapAlias(backend, heapOffset(backend, B) + (batchB === 1 ? 0 : i * K * N * 4), [K, N]);
        const oi = fast2d({ inputs: { a: ai, b: bi }, backend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
        const src = heapOffset(backend, oi);
        const dst = heapOffset(backend, out) + i * M * N * 4;
        heapU8(backend).copyWithin(dst, src, src + M * N * 4);
        backend.disposeData(oi.dataId);
        dropAlias(backend, ai);
        dropAlias(backend, bi);
      }
      return tf.reshape(out, outShape);
    });
  };
}
