/**
 * What `tesg fuse` needs to know of an exported ONNX file before it runs it, read cheaply: the
 * graph's names (ONNX_INPUTS, ONNX_OUTPUT) and the metadata_props (`tesg_config`, `tesg_sig`),
 * without the export's modules (the network builder, the model and training modules, onnx-proto).
 *
 * Why: `OnnxFuser.load` (./onnx-fuse.ts) used to take readOnnxConfig from ./export.ts, which loaded
 * all of those on the main thread of a cold `tesg fuse` (about 0.1 s CPU) and decoded the whole
 * protobuf (every initializer) for a few hundred bytes of metadata. readOnnxMetadataProps scans
 * only the top level of the ModelProto: each field is a tag and, for the graph (field 7: nodes and
 * weights), a length to skip with one seek; metadata_props (field 14, StringStringEntryProto
 * { key = 1; value = 2 }) are the only bytes decoded. docs/onnx-export.md, cold start.
 *
 * ./export.ts re-exports these names; this module must stay free of heavy imports.
 */
import { promises as fs } from 'node:fs';
import { InputError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { validateModelConfig } from '../model/config.js';

export const ONNX_INPUTS = ['ir', 'vi', 'mask', 'text'] as const;
export const ONNX_OUTPUT = 'fused';
/**
 * metadata_props key holding the model config (the same JSON as in the weights file). Equal to
 * CONFIG_KEY (src/model/model.ts), spelled out here so as not to load the model module.
 */
export const ONNX_CONFIG_KEY = 'tesg_config';
/**
 * metadata_props key holding the SIG the network was trained with: the weights file's `tesg_sig`
 * record (the training SIG cache's sig.json header, JSON), copied verbatim, so the exported file
 * alone tells which built-in SIG to run with it (the browser app reads it; `tesg fuse` reads the
 * same record from the weights, trainedSigVersion in src/fusion/tesg-method.ts). Absent when the
 * weights have none (tesg-v1, trained before the record existed: SIG v1). Equal to SIG_KEY
 * (src/training/checkpoint.ts), spelled out here so as not to load the training modules.
 */
export const ONNX_SIG_KEY = 'tesg_sig';

/** ModelProto's field numbers (onnx.proto) that this reader looks at. */
const GRAPH_FIELD = 7;
const METADATA_PROPS_FIELD = 14;

/** A protobuf layout error: the bytes are not a ModelProto. */
class NotProtobuf extends Error {}

/** Reads a file's bytes at positions, a chunk at a time (the top-level fields' tags are small). */
class PositionalReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;

  constructor(
    private readonly handle: fs.FileHandle,
    readonly size: number,
  ) {}

  /** `n` bytes at `pos` (fewer only at the end of the file). */
  async bytes(pos: number, n: number): Promise<Buffer> {
    const end = Math.min(pos + n, this.size);
    if (pos >= this.bufStart && end <= this.bufStart + this.buf.length) return this.buf.subarray(pos - this.bufStart, end - this.bufStart);
    const want = Math.max(end - pos, 4096);
    const buf = Buffer.allocUnsafe(Math.min(want, this.size - pos));
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await this.handle.read(buf, got, buf.length - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.buf = buf.subarray(0, got);
    this.bufStart = pos;
    return this.buf.subarray(0, Math.min(end - pos, got));
  }
}

/** A base-128 varint at `buf[pos]`: [value, next position]. Values up to 2^53 (lengths, field numbers). */
function varint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  for (let shift = 0, i = pos; i < buf.length && shift < 64; shift += 7, i++) {
    const b = buf[i];
    if (shift < 53) value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  throw new NotProtobuf('truncated varint');
}

/** The key/value pairs of one StringStringEntryProto; a repeated field keeps its last value, as protobuf does. */
function entry(buf: Uint8Array): { key: string; value: string } {
  let key = '';
  let value = '';
  for (let pos = 0; pos < buf.length; ) {
    const [tag, p] = varint(buf, pos);
    const [field, wire] = [Math.floor(tag / 8), tag & 7];
    pos = p;
    if (wire === 2) {
      const [len, q] = varint(buf, pos);
      if (q + len > buf.length) throw new NotProtobuf('field past the end of its entry');
      const s = Buffer.from(buf.buffer, buf.byteOffset + q, len).toString('utf8');
      if (field === 1) key = s;
      else if (field === 2) value = s;
      pos = q + len;
    } else {
      pos = skip(buf, pos, wire);
    }
  }
  return { key, value };
}

/** Past a non-length-delimited value of wire type `wire` at `pos` in `buf`. */
function skip(buf: Uint8Array, pos: number, wire: number): number {
  if (wire === 0) return varint(buf, pos)[1];
  if (wire === 1 || wire === 5) {
    const next = pos + (wire === 1 ? 8 : 4);
    if (next > buf.length) throw new NotProtobuf('truncated fixed-size field');
    return next;
  }
  throw new NotProtobuf(`wire type ${wire}`);
}

/**
 * metadata_props of an ONNX model file as string pairs (a later duplicate key wins; empty keys are
 * skipped), as readOnnxMetadata (./onnx-writer.ts) gives for the whole decoded file.
 * Errors: InputError when the file cannot be read or is not a protobuf ModelProto with a graph.
 */
export async function readOnnxMetadataProps(onnxFile: string): Promise<Record<string, string>> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(onnxFile, 'r');
  } catch (err) {
    throw new InputError(onnxFile, `cannot read the ONNX model (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    const size = (await handle.stat()).size;
    const reader = new PositionalReader(handle, size);
    const out: Record<string, string> = {};
    let graph = false;
    for (let pos = 0; pos < size; ) {
      // A tag and a length: at most 10 + 10 bytes.
      const head = await reader.bytes(pos, 20);
      const [tag, p] = varint(head, 0);
      const [field, wire] = [Math.floor(tag / 8), tag & 7];
      if (field === 0) throw new NotProtobuf('field number 0');
      if (wire !== 2) {
        const rest = await reader.bytes(pos + p, 10);
        pos += p + skip(rest, 0, wire);
        continue;
      }
      const [len, q] = varint(head, p);
      const start = pos + q;
      if (start + len > size) throw new NotProtobuf('field past the end of the file');
      if (field === GRAPH_FIELD) graph = true;
      if (field === METADATA_PROPS_FIELD) {
        const { key, value } = entry(await reader.bytes(start, len));
        if (key) out[key] = value;
      }
      pos = start + len;
    }
    if (!graph) throw new NotProtobuf('no graph');
    return out;
  } catch (err) {
    if (err instanceof NotProtobuf) throw new InputError(onnxFile, 'not an ONNX model file; export one with `tesg export --weights FILE --out model.onnx`');
    const code = (err as NodeJS.ErrnoException).code;
    throw code ? new InputError(onnxFile, `cannot read the ONNX model (${code})`) : err;
  } finally {
    await handle.close();
  }
}

/** The model config stored in an exported ONNX file (its `tesg_config` metadata). */
export async function readOnnxConfig(onnxFile: string): Promise<ModelConfig> {
  const meta = await readOnnxMetadataProps(onnxFile);
  const raw = meta[ONNX_CONFIG_KEY];
  if (!raw) throw new InputError(onnxFile, `no '${ONNX_CONFIG_KEY}' metadata: not exported by \`tesg export\``);
  return validateModelConfig(JSON.parse(raw) as Record<string, unknown>, `${onnxFile} (${ONNX_CONFIG_KEY})`);
}
