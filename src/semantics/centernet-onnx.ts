/**
 * The SIG detector (MB3-CenterNet, a tfjs graph model: ./centernet.ts) as an ONNX model, so the CLI
 * runs it on onnxruntime (native, both cores) instead of tfjs-wasm (one core, and 0.16 s of imports,
 * wasm set-up and graph loading before the first image). Same weights, same graph up to the two heads
 * the decode reads; the browser app keeps the tfjs graph. A parity test holds the two to the same
 * heat maps and detections (test/semantics-centernet-onnx.test.ts).
 *
 * The conversion walks the graph from the heads back to the input and maps each TensorFlow op, NHWC,
 * to ONNX, NCHW (opset 17): _FusedConv2D / FusedDepthwiseConv2dNative (BiasAdd, then Relu or Relu6)
 * and their plain forms -> Conv (+ Relu / Clip 0..6), HWIO kernels -> OIHW (depthwise: group = C),
 * TF 'SAME' -> auto_pad SAME_UPPER (TF pads the extra pixel at the end); Mul / Add / Sub with scalar
 * constants; Relu6 -> Clip; Mean over H, W -> ReduceMean axes 2, 3; ResizeBilinear without
 * align_corners or half-pixel centres -> Resize linear 'asymmetric' (TF's legacy mapping) by 2;
 * ConcatV2 on channels -> Concat axis 1. An op outside this list is an error naming it.
 *
 * Inputs: `image` uint8 [1, H, W, C] NHWC, the image's bytes as read (any size; C = 3 RGB, or 1, a
 * gray IR image, which the graph replicates to RGB with Expand) and `sizes` int64 [4] = [1, 3, h, w],
 * the network input size (CenterNet.inputSizeFor: multiples of 32); the graph casts to float 0..255
 * (what the tfjs graph takes) and resizes bilinearly as tf.image.resizeBilinear does. Outputs NHWC, as
 * the tfjs graph's: `keypoints` [1, h/4, w/4, 80] (per-class sigmoid heat maps) and `wh` [1, h/4, w/4,
 * 4]; plus `cell_max` [1, h/4, w/4], the largest of the 80 class scores per cell, so the decode skips
 * the cells where no class reaches minScore without reading their 80 values in JavaScript (in a cold
 * process that loop, not yet compiled, took ~20 ms per image).
 */
import { OnnxGraphWriter } from '../export/onnx-writer.js';
import { float16ToFloat32 } from '../runtime/onnx.js';
import type { GraphManifest, NodeDef } from './centernet.js';

/** The tfjs graph's tensors the decode reads. */
const HEADS = { keypoints: 'tower_0/keypoints', wh: 'tower_0/wh' } as const;
const INPUT = 'tower_0/images';

interface TfNode extends NodeDef {
  input?: string[];
  attr?: NodeDef['attr'] & Record<string, { s?: string; i?: string; b?: boolean; f?: number; list?: { s?: string[]; i?: string[] } }>;
}

interface Weight {
  dims: number[];
  values: Float32Array | Int32Array;
}

/** The manifest's weights by name, float16 widened to float32 as tfjs's io.decodeWeights does. */
function decodeWeights(manifest: GraphManifest, data: Uint8Array): Map<string, Weight> {
  const out = new Map<string, Weight>();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let o = 0;
  for (const spec of manifest.weightsManifest.flatMap((g) => g.weights)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization?.dtype;
    if (q === 'float16') {
      const half = new Uint16Array(n);
      for (let i = 0; i < n; i++) half[i] = view.getUint16(o + 2 * i, true);
      out.set(spec.name, { dims: spec.shape, values: float16ToFloat32(half) });
      o += 2 * n;
    } else if (!q && (spec.dtype === 'float32' || spec.dtype === 'int32')) {
      const v = spec.dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
      for (let i = 0; i < n; i++) v[i] = spec.dtype === 'float32' ? view.getFloat32(o + 4 * i, true) : view.getInt32(o + 4 * i, true);
      out.set(spec.name, { dims: spec.shape, values: v });
      o += 4 * n;
    } else {
      throw new Error(`centernet weights: ${spec.name} has dtype ${spec.dtype}${q ? ` quantized as ${q}` : ''}, which the ONNX conversion does not read`);
    }
  }
  if (o !== data.byteLength) throw new Error(`centernet weights: the manifest describes ${o} bytes, the weight file holds ${data.byteLength}`);
  return out;
}

const b64 = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));

/** TF HWIO kernel [kh, kw, in, out] -> ONNX OIHW; depthwise [kh, kw, C, m] -> [C * m, 1, kh, kw]. */
function kernel(w: Weight, depthwise: boolean): { dims: number[]; values: Float32Array } {
  const [kh, kw, ci, co] = w.dims;
  const out = new Float32Array(w.values.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < ci; i++) {
        for (let j = 0; j < co; j++) {
          const v = w.values[((y * kw + x) * ci + i) * co + j];
          // depthwise: output channel i * m + j reads input channel i
          const oc = depthwise ? i * co + j : j;
          const ic = depthwise ? 0 : i;
          const icn = depthwise ? 1 : ci;
          out[((oc * icn + ic) * kh + y) * kw + x] = v;
        }
      }
    }
  }
  return { dims: depthwise ? [ci * co, 1, kh, kw] : [co, ci, kh, kw], values: out };
}

/**
 * The ONNX model bytes of a CenterNet tfjs graph (its model.json and its weight files' bytes, in
 * manifest order). Throws an Error naming the op for a graph this mapping does not cover.
 */
export function centerNetToOnnx(manifest: GraphManifest, weightFiles: readonly Uint8Array[]): Uint8Array {
  const data = new Uint8Array(weightFiles.reduce((s, b) => s + b.byteLength, 0));
  let off = 0;
  for (const b of weightFiles) {
    data.set(b, off);
    off += b.byteLength;
  }
  const weights = decodeWeights(manifest, data);
  const nodes = new Map<string, TfNode>(manifest.modelTopology.node.map((n) => [n.name, n as TfNode]));
  const g = new OnnxGraphWriter();
  const values = new Map<string, string>();
  const clipMin = g.floatInit('clip_min', [], Float32Array.of(0));
  const clipMax = g.floatInit('clip_max', [], Float32Array.of(6));
  const scale2 = g.floatInit('scale_2', [4], Float32Array.of(1, 1, 2, 2));

  const image = g.input('image', [1, 'height', 'width', 'channels'], 'uint8');
  const sizes = g.input('sizes', [4], 'int64');
  const floats = g.node('Cast', [image], 'image_float', { to: 1 })[0];
  const rgb = g.node('Expand', [floats, g.int64Init('rgb_shape', [1, 1, 1, 3])], 'image_rgb')[0];
  const nchw = g.node('Transpose', [rgb], 'image_nchw', { perm: [0, 3, 1, 2] })[0];
  values.set(INPUT, g.node('Resize', [nchw, '', '', sizes], 'image_resized', { mode: 'linear', coordinate_transformation_mode: 'asymmetric' })[0]);

  const weightOf = (name: string): Weight => {
    const w = weights.get(name.split(':')[0]);
    if (!w) throw new Error(`centernet graph: ${name} is not a constant in the weights`);
    return w;
  };
  const scalar = (name: string): string => {
    const w = weightOf(name);
    if (w.values.length !== 1) throw new Error(`centernet graph: ${name} has shape [${w.dims}], only scalar constants are mapped`);
    return g.floatInit(name, [], Float32Array.of(w.values[0]));
  };
  const attrS = (n: TfNode, k: string) => b64(n.attr?.[k]?.s);
  const attrList = (n: TfNode, k: string) => n.attr?.[k]?.list;

  /** Conv2D / DepthwiseConv2dNative and their fused forms (the bias comes from fused_ops' BiasAdd). */
  const conv = (n: TfNode, x: string, depthwise: boolean): string => {
    const w = weightOf(n.input![1]);
    const k = kernel(w, depthwise);
    const strides = (attrList(n, 'strides')?.i ?? ['1', '1', '1', '1']).map(Number);
    const dil = (attrList(n, 'dilations')?.i ?? ['1', '1', '1', '1']).map(Number);
    const padding = attrS(n, 'padding');
    const layout = attrS(n, 'data_format');
    if (layout !== '' && layout !== 'NHWC') throw new Error(`centernet graph: ${n.name} has data_format '${layout}'; only NHWC is mapped`);
    if (padding !== 'SAME' && padding !== 'VALID') throw new Error(`centernet graph: ${n.name} has padding '${padding}'`);
    const inputs = [x, g.floatInit(`${n.name}/kernel`, k.dims, k.values)];
    const fused = (attrList(n, 'fused_ops')?.s ?? []).map(b64);
    if (fused.includes('BiasAdd')) {
      const b = weightOf(n.input![2]);
      inputs.push(g.floatInit(`${n.name}/bias`, [b.values.length], Float32Array.from(b.values)));
    }
    let y = g.node('Conv', inputs, n.name, {
      strides: [strides[1], strides[2]],
      dilations: [dil[1], dil[2]],
      ...(padding === 'SAME' ? { auto_pad: 'SAME_UPPER' } : { pads: [0, 0, 0, 0] }),
      ...(depthwise ? { group: w.dims[2] } : {}),
    })[0];
    for (const f of fused) {
      if (f === 'BiasAdd') continue;
      if (f === 'Relu') y = g.node('Relu', [y], `${n.name}/relu`)[0];
      else if (f === 'Relu6') y = g.node('Clip', [y, clipMin, clipMax], `${n.name}/relu6`)[0];
      else throw new Error(`centernet graph: ${n.name} fuses '${f}', which the ONNX conversion does not map`);
    }
    return y;
  };

  const valueOf = (ref: string): string => {
    const name = ref.split(':')[0];
    const known = values.get(name);
    if (known !== undefined) return known;
    const n = nodes.get(name);
    if (!n) throw new Error(`centernet graph: no node '${name}'`);
    const ins = n.input ?? [];
    let y: string;
    switch (n.op) {
      case 'Identity':
        y = valueOf(ins[0]);
        break;
      case '_FusedConv2D':
      case 'Conv2D':
        y = conv(n, valueOf(ins[0]), false);
        break;
      case 'FusedDepthwiseConv2dNative':
      case 'DepthwiseConv2dNative':
        y = conv(n, valueOf(ins[0]), true);
        break;
      case 'Mul':
      case 'Add':
      case 'Sub': {
        const operand = (r: string) => (nodes.get(r.split(':')[0])?.op === 'Const' ? scalar(r) : valueOf(r));
        y = g.node(n.op, [operand(ins[0]), operand(ins[1])], n.name)[0];
        break;
      }
      case 'Relu':
        y = g.node('Relu', [valueOf(ins[0])], n.name)[0];
        break;
      case 'Relu6':
        y = g.node('Clip', [valueOf(ins[0]), clipMin, clipMax], n.name)[0];
        break;
      case 'Sigmoid':
        y = g.node('Sigmoid', [valueOf(ins[0])], n.name)[0];
        break;
      case 'Mean': {
        const axes = Array.from(weightOf(ins[1]).values);
        if (axes.join() !== '1,2' || n.attr?.keep_dims?.b !== true) throw new Error(`centernet graph: ${n.name} reduces axes [${axes}]; only the spatial mean (1, 2, keep_dims) is mapped`);
        y = g.node('ReduceMean', [valueOf(ins[0])], n.name, { axes: [2, 3], keepdims: 1 })[0];
        break;
      }
      case 'ResizeBilinear': {
        if (n.attr?.align_corners?.b || n.attr?.half_pixel_centers?.b) throw new Error(`centernet graph: ${n.name} uses align_corners or half_pixel_centers`);
        // the size input is input * 2 for every upsampling node of this graph (centernet.ts sets it per input size)
        y = g.node('Resize', [valueOf(ins[0]), '', scale2], n.name, { mode: 'linear', coordinate_transformation_mode: 'asymmetric' })[0];
        break;
      }
      case 'ConcatV2': {
        const axis = Number(weightOf(ins[ins.length - 1]).values[0]);
        const nchwAxis = [0, 2, 3, 1][axis < 0 ? axis + 4 : axis];
        if (nchwAxis === undefined) throw new Error(`centernet graph: ${n.name} concatenates on axis ${axis}; only 4-D tensors are mapped`);
        y = g.node('Concat', ins.slice(0, -1).map(valueOf), n.name, { axis: nchwAxis })[0];
        break;
      }
      default:
        throw new Error(`centernet graph: op ${n.op} (${n.name}) is not mapped to ONNX`);
    }
    values.set(name, y);
    return y;
  };

  for (const [out, tfName] of Object.entries(HEADS)) {
    const y = g.node('Transpose', [valueOf(tfName)], out, { perm: [0, 2, 3, 1] })[0];
    g.output(y, [1, 'grid_h', 'grid_w', out === 'keypoints' ? 80 : 4]);
  }
  g.output(g.node('ReduceMax', [valueOf(HEADS.keypoints)], 'cell_max', { axes: [1], keepdims: 0 })[0], [1, 'grid_h', 'grid_w']);
  return g.toBytes('MB3-CenterNet (vladmandic/human, MIT) converted from its tfjs graph by tesg', { source: 'vladmandic-human-centernet-mb3' });
}
