import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';

const { onnx } = onnxProto;

/**
 * A minimal ONNX ModelProto writer (onnx-proto's protobuf classes): graph inputs/outputs with
 * static or symbolic dims (float32, int64 or uint8 inputs), float32/int64 initializers, nodes with attributes. It knows nothing of
 * the network; ../model/ops-onnx.ts drives it.
 *
 * Opset 17 (ai.onnx), IR version 8: the first opset with LayerNormalization, still within every
 * onnxruntime since 1.12; reductions there take `axes` as an attribute (opset 18 moved them to inputs).
 */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

/** A dimension: a number, or a name for a size fixed only when the model runs ("height"). */
export type Dim = number | string;

export type Attr = number | number[] | string | { float: number };

const FLOAT = 1;
const UINT8 = 2;
const INT64 = 7;

export class OnnxGraphWriter {
  private readonly inputs: P.IValueInfoProto[] = [];
  private readonly outputs: P.IValueInfoProto[] = [];
  private readonly inits: P.ITensorProto[] = [];
  private readonly nodes: P.INodeProto[] = [];
  private readonly names = new Set<string>();

  /** `base` if unused, else `base_2`, `base_3`...; every value and node name in the graph is unique. */
  unique(base: string): string {
    let name = base;
    for (let i = 2; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** A graph input, float32 unless `type` is 'int64' or 'uint8'. */
  input(name: string, shape: Dim[], type: 'float' | 'int64' | 'uint8' = 'float'): string {
    this.names.add(name);
    this.inputs.push(valueInfo(name, shape, type === 'int64' ? INT64 : type === 'uint8' ? UINT8 : FLOAT));
    return name;
  }

  output(name: string, shape: Dim[]): void {
    this.outputs.push(valueInfo(name, shape));
  }

  floatInit(base: string, dims: number[], values: Float32Array): string {
    const name = this.unique(base);
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    // Copy: raw data must be little-endian (it is, on every platform Node runs on) and owned.
    this.inits.push({ name, dims, dataType: FLOAT, rawData: Uint8Array.from(bytes) });
    return name;
  }

  int64Init(base: string, values: number[]): string {
    const name = this.unique(base);
    const arr = BigInt64Array.from(values, (v) => BigInt(v));
    this.inits.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(arr.buffer) });
    return name;
  }

  /** One node; returns its output names (`outputs` of them, named after `base`). */
  node(op: string, inputs: string[], base: string, attrs: Record<string, Attr> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, (_, i) => this.unique(outputs === 1 ? base : `${base}:${i}`));
    this.nodes.push({
      opType: op,
      name: this.unique(`${base}#node`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The model file; `metadata` goes to metadata_props (string pairs, readable with readOnnxMetadata). */
  toBytes(docString = '', metadata: Record<string, string> = {}): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      producerName: 'tesg',
      docString,
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      graph: { name: 'tesg', input: this.inputs, output: this.outputs, initializer: this.inits, node: this.nodes },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, shape: Dim[], elemType = FLOAT): P.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: Attr): P.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'object' && !Array.isArray(v)) return { name, type: T.FLOAT, f: v.float };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return { name, type: T.INT, i: v };
}

/** metadata_props of an ONNX model file's bytes (decodes the whole protobuf: fine for small models). */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const model = onnx.ModelProto.decode(bytes);
  const out: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key) out[p.key] = p.value ?? '';
  return out;
}
