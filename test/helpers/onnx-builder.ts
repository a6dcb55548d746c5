/**
 * Writes tiny ONNX graphs with onnx-proto, so tests can run the ONNX providers on models whose
 * every output is known by hand. Opset 13 / IR 7: old enough for any onnxruntime, new enough
 * for the ops used here (Unsqueeze/ReduceSum axes as inputs, ReduceMean axes as attribute).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';

const { onnx } = onnxProto;

export type DType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'bool';

const DTYPE_CODE: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };

/** A float attribute value that happens to be an integer (e.g. alpha = 1). */
export interface FloatAttr {
  float: number;
}
export type AttrValue = number | number[] | string | FloatAttr;

export class GraphBuilder {
  private readonly inputs: P.IValueInfoProto[] = [];
  private readonly outputs: P.IValueInfoProto[] = [];
  private readonly inits: P.ITensorProto[] = [];
  private readonly nodes: P.INodeProto[] = [];
  private counter = 0;

  input(name: string, type: DType, shape: Array<number | string>): this {
    this.inputs.push(valueInfo(name, type, shape));
    return this;
  }

  output(name: string, type: DType, shape: Array<number | string>): this {
    this.outputs.push(valueInfo(name, type, shape));
    return this;
  }

  /** A constant tensor; returns its name. */
  constant(dims: number[], values: ArrayLike<number>, type: DType = 'float32', name?: string): string {
    const n = name ?? `const_${this.counter++}`;
    this.inits.push({ name: n, dims, dataType: DTYPE_CODE[type], rawData: rawBytes(values, type) });
    return n;
  }

  /** Adds a node; returns its (first) output name, generated when not given. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs?: string[]): string {
    const outs = outputs ?? [`${op.toLowerCase()}_${this.counter++}`];
    this.nodes.push({ opType: op, input: inputs, output: outs, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return outs[0];
  }

  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 7,
      producerName: 'tesg-test',
      opsetImport: [{ domain: '', version: 13 }],
      graph: { name: 'g', input: this.inputs, output: this.outputs, initializer: this.inits, node: this.nodes },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  write(file: string): string {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, this.toBytes());
    return file;
  }
}

function valueInfo(name: string, type: DType, shape: Array<number | string>): P.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DTYPE_CODE[type],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): P.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'object' && !Array.isArray(v)) return { name, type: T.FLOAT, f: v.float };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
}

function rawBytes(values: ArrayLike<number>, type: DType): Uint8Array {
  let arr: ArrayBufferView;
  switch (type) {
    case 'float32':
      arr = Float32Array.from(values);
      break;
    case 'float64':
      arr = Float64Array.from(values);
      break;
    case 'int32':
      arr = Int32Array.from(values);
      break;
    case 'int64':
      arr = BigInt64Array.from(Array.from(values, (x) => BigInt(x)));
      break;
    case 'bool':
      arr = Uint8Array.from(values);
      break;
    case 'float16':
      throw new Error('float16 constants: write float32 and Cast');
  }
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}
