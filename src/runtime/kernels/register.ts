/**
 * Registers the training kernels for the wasm backend, once per process: the three gradient kernels
 * tfjs-wasm lacks, and fast Conv2DBackpropInput and BatchMatMul in place of its slow paths. Which implementation each
 * kernel uses was chosen by measurement (bench/train-kernels.ts; docs/training-speed.md).
 */
import { tf } from '../tfjs-node.cjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { depthwiseFilterGrad, depthwiseInputGrad } from './depthwise-loops.js';
import { asTensor, conv2dFilterGrad, conv2dInputGrad, depthwiseInputGradByConv } from './conv-composed.js';
import { makeBatchMatMul } from './batch-matmul.js';
import { convInfo, dilationIsOne, type ConvBackpropAttrs } from './geometry.js';

interface FilterGradAttrs extends ConvBackpropAttrs {
  filterShape: number[];
}
interface InputGradAttrs extends ConvBackpropAttrs {
  inputShape: number[];
}

/** How DepthwiseConv2dNativeBackpropInput runs: a JS loop on the heap, or the forward depthwise kernel. */
export type DepthwiseInputMode = 'loop' | 'conv';
let depthwiseInputMode: DepthwiseInputMode = 'conv';

/** For the benchmark that compares both; the default is the measured faster one. */
export function setDepthwiseInputMode(mode: DepthwiseInputMode): void {
  depthwiseInputMode = mode;
}

/** A named kernel input; the tfjs-core ops always pass it, so a missing one is a bug. */
function input(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`conv gradient kernel called without input '${name}'`);
  return t;
}

function heap(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`conv gradient kernels need float32, got ${t.dtype}`);
  return backend.typedArrayFromHeap(t) as Float32Array;
}

function requireDilationOne(kernel: string, info: ReturnType<typeof convInfo>): void {
  if (!dilationIsOne(info)) throw new Error(`${kernel}: dilation > 1 is not supported (tfjs gradients never ask for it)`);
}

const depthwiseFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as FilterGradAttrs;
  const info = convInfo(input(inputs, 'x').shape, a.filterShape, a, true);
  requireDilationOne('DepthwiseConv2dNativeBackpropFilter', info);
  const b = backend as BackendWasm;
  const out = b.makeOutput(a.filterShape, 'float32');
  // Views taken after makeOutput: allocating may grow (and detach) the heap.
  depthwiseFilterGrad(heap(b, input(inputs, 'x')), heap(b, input(inputs, 'dy')), info, heap(b, out));
  return out;
};

const depthwiseInput: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as InputGradAttrs;
  const info = convInfo(a.inputShape, input(inputs, 'filter').shape, a, true);
  requireDilationOne('DepthwiseConv2dNativeBackpropInput', info);
  if (depthwiseInputMode === 'conv') {
    const viaConv = depthwiseInputGradByConv(asTensor(input(inputs, 'dy')), asTensor(input(inputs, 'filter')), info);
    if (viaConv !== null) return viaConv;
  }
  const b = backend as BackendWasm;
  const out = b.makeOutput(a.inputShape, 'float32');
  depthwiseInputGrad(heap(b, input(inputs, 'dy')), heap(b, input(inputs, 'filter')), info, heap(b, out));
  return out;
};

const conv2dFilter: tf.KernelFunc = ({ inputs, attrs }) => {
  const a = attrs as unknown as FilterGradAttrs;
  const info = convInfo(input(inputs, 'x').shape, a.filterShape, a, false);
  requireDilationOne('Conv2DBackpropFilter', info);
  return conv2dFilterGrad(asTensor(input(inputs, 'x')), asTensor(input(inputs, 'dy')), info);
};

function conv2dInput(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const a = args.attrs as unknown as InputGradAttrs;
    const info = convInfo(a.inputShape, input(args.inputs, 'filter').shape, a, false);
    const viaConv = dilationIsOne(info) ? conv2dInputGrad(asTensor(input(args.inputs, 'dy')), asTensor(input(args.inputs, 'filter')), info) : null;
    return viaConv ?? fallback(args);
  };
}

const registered = new Set<string>();
const originals = new Map<string, tf.KernelConfig>();

/** The backend's own kernel that `registerTrainingKernels` replaced (for the before/after benchmark). */
export function originalKernel(kernelName: string, backendName = 'wasm'): tf.KernelConfig | undefined {
  return originals.get(`${backendName}/${kernelName}`);
}

function register(backendName: string, kernelName: string, kernelFunc: tf.KernelFunc): void {
  const old = tf.getKernel(kernelName, backendName);
  if (old !== undefined) {
    originals.set(`${backendName}/${kernelName}`, old);
    tf.unregisterKernel(kernelName, backendName);
  }
  tf.registerKernel({ kernelName, backendName, kernelFunc });
}

/** Registers (once) the kernels for `backendName` and returns their names; the cpu backend needs none. */
export function registerTrainingKernels(backendName: string): string[] {
  if (backendName !== 'wasm') return [];
  const names = [
    tf.DepthwiseConv2dNativeBackpropFilter,
    tf.DepthwiseConv2dNativeBackpropInput,
    tf.Conv2DBackpropFilter,
    tf.Conv2DBackpropInput,
    tf.BatchMatMul,
  ];
  if (registered.has(backendName)) return names;
  register(backendName, tf.DepthwiseConv2dNativeBackpropFilter, depthwiseFilter);
  register(backendName, tf.DepthwiseConv2dNativeBackpropInput, depthwiseInput);
  register(backendName, tf.Conv2DBackpropFilter, conv2dFilter);
  const original = tf.getKernel(tf.Conv2DBackpropInput, backendName);
  if (original === undefined) throw new Error(`tfjs-${backendName} has no Conv2DBackpropInput to fall back on`);
  register(backendName, tf.Conv2DBackpropInput, conv2dInput(original.kernelFunc));
  const matmul = tf.getKernel(tf.BatchMatMul, backendName);
  if (matmul === undefined) throw new Error(`tfjs-${backendName} has no BatchMatMul`);
  register(backendName, tf.BatchMatMul, makeBatchMatMul(matmul.kernelFunc));
  registered.add(backendName);
  return names;
}
