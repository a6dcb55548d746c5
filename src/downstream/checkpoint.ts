import { promises as fs } from 'node:fs';
import { TrainingError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';

/**
 * One-file checkpoint: 4-byte little-endian header length, a JSON header, then float32 tensors in
 * header order. One file written atomically, so weights and the step/RNG they belong to never
 * disagree after a kill.
 */
export interface TensorEntry {
  name: string;
  shape: number[];
}

export interface Checkpoint<Meta> {
  meta: Meta;
  tensors: { entry: TensorEntry; data: Float32Array }[];
}

const MAGIC = 'tesg-segck-1';

export async function saveCheckpoint<Meta>(file: string, ck: Checkpoint<Meta>): Promise<void> {
  const header = Buffer.from(JSON.stringify({ magic: MAGIC, meta: ck.meta, tensors: ck.tensors.map((t) => t.entry) }), 'utf8');
  const total = 4 + header.length + ck.tensors.reduce((s, t) => s + t.data.length * 4, 0);
  const buf = Buffer.alloc(total);
  buf.writeUInt32LE(header.length, 0);
  header.copy(buf, 4);
  let off = 4 + header.length;
  for (const t of ck.tensors) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.length * 4).copy(buf, off);
    off += t.data.length * 4;
  }
  await writeFileAtomic(file, buf);
}

export async function loadCheckpoint<Meta>(file: string): Promise<Checkpoint<Meta>> {
  const buf = await fs.readFile(file);
  const bad = (why: string) => new TrainingError(`${file}: unusable checkpoint (${why}); delete it to start over`);
  if (buf.length < 4) throw bad('too short');
  const hlen = buf.readUInt32LE(0);
  if (4 + hlen > buf.length) throw bad('truncated header');
  let header: { magic: string; meta: Meta; tensors: TensorEntry[] };
  try {
    header = JSON.parse(buf.subarray(4, 4 + hlen).toString('utf8'));
  } catch {
    throw bad('header is not JSON');
  }
  if (header.magic !== MAGIC) throw bad(`expected format ${MAGIC}, got ${String(header.magic)}`);
  let off = 4 + hlen;
  const tensors = header.tensors.map((entry) => {
    const n = entry.shape.reduce((a, b) => a * b, 1);
    if (off + n * 4 > buf.length) throw bad(`truncated at tensor ${entry.name}`);
    const data = new Float32Array(n);
    Buffer.from(data.buffer).set(buf.subarray(off, off + n * 4));
    off += n * 4;
    return { entry, data };
  });
  if (off !== buf.length) throw bad(`${buf.length - off} trailing bytes`);
  return { meta: header.meta, tensors };
}
