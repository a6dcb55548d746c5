import { promises as fs } from 'node:fs';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { NamedArray } from './params.js';

/**
 * Weights and checkpoints on disk: the safetensors format (8-byte little-endian header length, a JSON
 * header naming each tensor's dtype, shape and byte range, then the raw little-endian data), F32 only.
 * Chosen because it is one file, trivial to read from JS, and readable by Python's `safetensors` for
 * anyone who wants to inspect or convert the weights. `__metadata__` (string -> string) carries the
 * model config and, in checkpoints, the training state.
 */
export interface TensorFile {
  tensors: Map<string, NamedArray>;
  metadata: Record<string, string>;
}

export function encodeSafetensors(file: TensorFile): Uint8Array {
  const names = [...file.tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: file.metadata };
  let offset = 0;
  for (const name of names) {
    const t = file.tensors.get(name)!;
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  const base = 8 + headerBytes.length;
  for (const name of names) {
    const t = file.tensors.get(name)!;
    const start = (header[name] as { data_offsets: number[] }).data_offsets[0];
    const dv = new DataView(out.buffer, base + start, t.data.length * 4);
    for (let i = 0; i < t.data.length; i++) dv.setFloat32(i * 4, t.data[i], true);
  }
  return out;
}

/** Parse a safetensors buffer; `file` names the source in errors. */
export function decodeSafetensors(buf: Uint8Array, file: string): TensorFile {
  const bad = (why: string) => new InputError(file, `not a tesg weights file (${why}); expected a .safetensors file written by \`tesg train\``);
  if (buf.length < 8) throw bad('shorter than 8 bytes');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const rawLen = view.getBigUint64(0, true);
  const headerLen = Number(rawLen);
  if (headerLen <= 0 || 8 + headerLen > buf.length) throw bad(`header length ${rawLen} does not fit in ${buf.length} bytes`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, headerLen).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw bad('header is not JSON');
  }
  const base = 8 + headerLen;
  const tensors = new Map<string, NamedArray>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (e.dtype !== 'F32') throw bad(`tensor ${name} has dtype ${e.dtype}, only F32 is supported`);
    const [start, end] = e.data_offsets ?? [-1, -1];
    const n = (e.shape ?? []).reduce((a, b) => a * b, 1);
    if (!(start >= 0 && end === start + 4 * n && base + end <= buf.length)) throw bad(`tensor ${name} has a bad byte range (file truncated?)`);
    const data = new Float32Array(n);
    const dv = new DataView(buf.buffer, buf.byteOffset + base + start, 4 * n);
    for (let i = 0; i < n; i++) data[i] = dv.getFloat32(i * 4, true);
    tensors.set(name, { shape: e.shape ?? [], data });
  }
  return { tensors, metadata: (header.__metadata__ as Record<string, string>) ?? {} };
}

export async function readTensorFile(file: string): Promise<TensorFile> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (err) {
    throw new InputError(file, `cannot read weights (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return decodeSafetensors(buf, file);
}

/** Written atomically: a kill mid-write leaves the previous file intact. */
export async function writeTensorFile(file: string, tf: TensorFile): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tf));
}

/**
 * Only the `__metadata__` strings of a safetensors file (reads the 8-byte header length and the JSON
 * header, not the tensors). InputError when the file is unreadable or not safetensors.
 */
export async function readTensorFileMetadata(file: string): Promise<Record<string, string>> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(file, 'r');
    const len = Buffer.alloc(8);
    await fh.read(len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    if (!(n > 0 && n < 100 * 1024 * 1024)) throw new Error(`header length ${n}`);
    const head = Buffer.alloc(n);
    await fh.read(head, 0, n, 8);
    const header = JSON.parse(head.toString('utf8')) as { __metadata__?: Record<string, string> };
    return header.__metadata__ ?? {};
  } catch (err) {
    throw new InputError(file, `not a readable safetensors file (${(err as Error).message})`);
  } finally {
    await fh?.close();
  }
}
