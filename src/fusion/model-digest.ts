import { promises as fs } from 'node:fs';
import { sha256OfFile } from '../util/file-hash.js';
import { onnxBeside, weightsFileOf } from './tesg-method.js';

/**
 * What a fusion's output depends on besides its inputs and options: for the tesg method the bytes of
 * the weights file (params.weights, else the default) and of the ONNX model beside it, as "sha,sha"
 * (SHA-256 hex; "missing" for an absent file: the fuse then fails with its own error); '' for the
 * classic methods. A new model at the same path (a new default, a retrained file) changes it, so the
 * job queue's pair identity (src/queue/job.ts) and a video plan (src/video/plan.ts) tell old work from new.
 * Each file is hashed once per process while its size and mtime stay the same.
 */
export async function modelDigest(method: string, params: Readonly<Record<string, unknown>> = {}): Promise<string> {
  if (method !== 'tesg') return '';
  const weights = weightsFileOf(params);
  return (await Promise.all([weights, onnxBeside(weights)].map(cachedSha256))).join(',');
}

const shas = new Map<string, { stamp: string; sha: Promise<string> }>();

async function cachedSha256(file: string): Promise<string> {
  const st = await fs.stat(file).catch(() => null);
  if (!st) return 'missing';
  const stamp = `${st.size}:${st.mtimeMs}`;
  let hit = shas.get(file);
  if (!hit || hit.stamp !== stamp) {
    shas.set(file, (hit = { stamp, sha: sha256OfFile(file).catch(() => 'missing') }));
  }
  return hit.sha;
}
