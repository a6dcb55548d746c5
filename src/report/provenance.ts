/**
 * Where results came from: the tesg version, and a small manifest `tesg fuse` leaves in each output
 * folder (`tesg-fuse.json`: method, weights, SIG, command line, date, one entry per run) so that
 * `tesg eval --html` can say which weights and SIG made each method's images. Folders fused by other
 * tools have no manifest; the report then says "not recorded".
 */
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LEXICON_ID } from '../semantics/lexicon-encoder.js';
import { writeFileAtomic } from '../util/atomic.js';

export const FUSE_MANIFEST = 'tesg-fuse.json';

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The `version` of tesg's package.json ('unknown' if it cannot be read). */
export function tesgVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The command line as typed, approximately: `tesg` and the arguments, quoted where needed. */
export function commandLine(argv: readonly string[] = process.argv): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['tesg', ...argv.slice(2).map(quote)].join(' ');
}

/** One `tesg fuse` folder run. */
export interface FuseRunRecord {
  date: string;
  tesgVersion: string;
  command: string;
  method: string;
  /** Network weights file and the first 16 hex digits of its SHA-256; null for classic methods. */
  weights: { file: string; sha256: string | null; backend: string | null } | null;
  /** How M and F_t were obtained; null for methods that use no SIG. */
  sig: string | null;
  fused: number;
  skipped: number;
}

export interface FuseManifest {
  tool: 'tesg fuse';
  runs: FuseRunRecord[];
}

async function shortSha256(file: string): Promise<string | null> {
  try {
    return createHash('sha256').update(await fs.readFile(file)).digest('hex').slice(0, 16);
  } catch {
    return null;
  }
}

/**
 * The record of one run. `params` are the tesg method's settings (src/fusion/tesg-method.ts);
 * `weightsFile`/`backend` are what it resolved them to (the default weights when none was given).
 */
export async function fuseRunRecord(o: {
  method: string;
  params: Record<string, unknown>;
  weightsFile?: string;
  backend?: string;
  fused: number;
  skipped: number;
}): Promise<FuseRunRecord> {
  const network = o.method === 'tesg';
  let sig: string | null = null;
  if (network) {
    const overrides = [
      typeof o.params.caption === 'string' ? `caption "${o.params.caption}"` : '',
      Array.isArray(o.params.keyword) ? `keywords ${o.params.keyword.join(', ')}` : '',
    ].filter(Boolean);
    sig = typeof o.params.sig === 'string'
      ? `SIG cache ${path.resolve(o.params.sig)}`
      : `built-in default (COCO CenterNet detector masks and captions, ${LEXICON_ID} text encoder)${overrides.length ? `; ${overrides.join('; ')}` : ''}`;
  }
  return {
    date: new Date().toISOString(),
    tesgVersion: tesgVersion(),
    command: commandLine(),
    method: o.method,
    weights: network && o.weightsFile ? { file: path.resolve(o.weightsFile), sha256: await shortSha256(o.weightsFile), backend: o.backend ?? null } : null,
    sig,
    fused: o.fused,
    skipped: o.skipped,
  };
}

/** The manifest of a folder, or null when there is none or it is not ours. */
export async function readFuseManifest(dir: string): Promise<FuseManifest | null> {
  try {
    const doc = JSON.parse(await fs.readFile(path.join(dir, FUSE_MANIFEST), 'utf8')) as FuseManifest;
    return doc?.tool === 'tesg fuse' && Array.isArray(doc.runs) ? doc : null;
  } catch {
    return null;
  }
}

/** Add a run to the folder's manifest (atomically; the previous runs are kept, since a resumed run may mix settings). */
export async function appendFuseManifest(dir: string, run: FuseRunRecord): Promise<void> {
  const doc = (await readFuseManifest(dir)) ?? { tool: 'tesg fuse', runs: [] };
  doc.runs.push(run);
  await writeFileAtomic(path.join(dir, FUSE_MANIFEST), JSON.stringify(doc, null, 1) + '\n');
}
