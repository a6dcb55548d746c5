/**
 * Where results came from: the tesg version, and a small manifest `tesg fuse` leaves in each output
 * folder (`tesg-fuse.json`: method, weights, SIG, command line, date, one entry per run) so that
 * `tesg eval --html` can say which weights and SIG made each method's images. `tesg worker` keeps the
 * same manifest for the pairs it fuses (one entry per `tesg queue add`, src/queue/manifest.ts). Folders fused by other
 * tools have no manifest; the report then says "not recorded". A tesg-fuse.json that cannot be read or
 * is not ours is an error, never silently replaced (it would take every earlier run's record with it).
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, UsageError } from '../errors.js';
import { LEXICON_ID } from '../semantics/lexicon-encoder.js';
import type { BuiltinSigVersion } from '../semantics/sig.js';
import { writeFileAtomic } from '../util/atomic.js';
import { sha256OfFile } from '../util/file-hash.js';

export const FUSE_MANIFEST = 'tesg-fuse.json';
/** The lock (a folder, proper-lockfile's mkdir lock) held while a process reads, changes and writes a folder's manifest. */
export const FUSE_MANIFEST_LOCK = '.tesg-fuse.json.lock';

/** How long withManifestLock waits for another holder of a folder's manifest lock, in ms. */
const LOCK_WAIT_MS = 15_000;

/**
 * Runs `update` (a read-modify-write of `dir`'s manifest) while holding the folder's manifest lock, so
 * that a `tesg fuse` and a `tesg worker` (or two of either) updating the same folder at the same
 * moment cannot drop each other's change. proper-lockfile: an atomic mkdir, its mtime refreshed while
 * held, taken over when older than 10 s (a process killed while holding it), removed on exit.
 * Waits up to 15 s while another process holds it; any other failure (a read-only folder) is reported
 * at once. Errors: InputError naming the lock or the folder; update's own errors. A lock taken over
 * while held (this process blocked for over 10 s) is a warning on stderr, not a crash.
 */
export async function withManifestLock<T>(dir: string, update: () => Promise<T>): Promise<T> {
  // Loaded here, not at the top: a single-pair `tesg fuse` (the cold-start path) never writes a manifest.
  const { default: lockfile } = await import('proper-lockfile');
  const lockPath = path.join(dir, FUSE_MANIFEST_LOCK);
  try {
    await fs.mkdir(dir, { recursive: true }); // as writeFileAtomic would: the lock lives in the folder
  } catch (err) {
    throw new InputError(dir, `cannot create the output folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a writable --out`);
  }
  const options = {
    lockfilePath: lockPath,
    realpath: false,
    stale: 10_000,
    update: 2_000,
    onCompromised: (err: Error) => process.stderr.write(`tesg: warning: ${lockPath}: the fuse manifest's lock was taken over while held (${err.message}); check ${path.join(dir, FUSE_MANIFEST)}\n`),
  };
  const deadline = Date.now() + LOCK_WAIT_MS;
  let release: () => Promise<void>;
  for (let wait = 10; ; wait = Math.min(200, wait * 1.5)) {
    try {
      release = await lockfile.lock(dir, options);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOCKED' && Date.now() < deadline) {
        // Jitter: waiters that started together would otherwise poll in lockstep, one winner per round.
        await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
        continue;
      }
      const why = code === 'ELOCKED' ? `another tesg process held it for ${LOCK_WAIT_MS / 1000} s` : (code ?? (err as Error).message);
      const fix = code === 'ELOCKED' ? `if no tesg process writes into ${dir}, remove this folder and rerun` : `make ${dir} writable, or give another --out`;
      throw new InputError(lockPath, `cannot lock the fuse manifest (${why}); ${fix}`);
    }
  }
  try {
    return await update();
  } finally {
    await release().catch(() => undefined); // taken over as stale meanwhile: nothing of ours left to remove
  }
}

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

/**
 * One `tesg fuse` folder run, or the jobs of one `tesg queue add` that `tesg worker`s wrote into the
 * folder (then `queue` is set, `command` is the `tesg queue add` command line, `date` the time the
 * latest of its jobs was recorded and `fused` the jobs recorded so far).
 */
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
  /** `tesg fuse` folder runs: when the run began (ISO 8601), whether it ran with --overwrite, and false until its last pair is done. */
  started?: string;
  overwrite?: boolean;
  finished?: boolean;
  /** Only for outputs of queue jobs: the queue's name and when `tesg queue add` added the jobs (ISO 8601; null if not recorded). */
  queue?: { name: string; added: string | null };
}

export interface FuseManifest {
  tool: 'tesg fuse';
  runs: FuseRunRecord[];
}

async function shortSha256(file: string): Promise<string | null> {
  return sha256OfFile(file).then((h) => h.slice(0, 16), () => null);
}

/** What each built-in SIG version is, in words (src/semantics/sig.ts). */
const SIG_WORDS: Record<BuiltinSigVersion, string> = {
  v1: 'COCO CenterNet detector masks and captions',
  v2: 'COCO CenterNet detector + IR warm objects at night, masks and captions',
  v3: 'COCO CenterNet detector + IR warm objects at night, weak boxes confirmed by a second sighting, masks and captions',
};

/** "built-in SIG v2 (what it is, text encoder)[; overrides]": the version from --sig-version or the weights' record. */
async function builtinSigText(params: Record<string, unknown>, weightsFile: string | undefined, overrides: string[]): Promise<string> {
  const { builtinSigVersion } = await import('../fusion/tesg-method.js');
  const version = await builtinSigVersion(params, weightsFile);
  return `built-in SIG ${version} (${SIG_WORDS[version]}, ${LEXICON_ID} text encoder)${overrides.length ? `; ${overrides.join('; ')}` : ''}`;
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
      : await builtinSigText(o.params, o.weightsFile, overrides);
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

/**
 * A record's SIG without its description in words (which tesg versions reword): "built-in SIG v3",
 * plus any "; caption ..." / "; keywords ..." override, or "SIG cache /path"; '' for none.
 */
function sigKey(sig: string | null | undefined): string {
  return (sig ?? '').replace(/ \([^;]*\)/, '');
}

/** Whether two records fused alike: the same method, weights bytes (SHA-256) and SIG (version, overrides or cache). */
export function sameFusion(a: FuseRunRecord, b: FuseRunRecord): boolean {
  return a.method === b.method && (a.weights?.sha256 ?? null) === (b.weights?.sha256 ?? null) && sigKey(a.sig) === sigKey(b.sig);
}

/** A record's fusion in a few words: "tesg weights/tesg.safetensors (sha256 0123abcd...), built-in SIG v3", or "--method max". */
export function fusionWords(r: FuseRunRecord): string {
  if (!r.weights) return `--method ${r.method}`;
  const rel = path.relative(process.cwd(), r.weights.file ?? '');
  const file = rel.startsWith('..') ? r.weights.file : rel;
  const sig = sigKey(r.sig);
  return `${r.method} ${file} (sha256 ${r.weights.sha256 ?? 'unreadable'})${sig ? `, ${sig}` : ''}`;
}

/**
 * Folder mode resumes by skipping outputs that exist; that is only right when they were made the same
 * way as this `run`. Refuses (UsageError, nothing written) when `dir`'s manifest says otherwise:
 *  - its latest run fused differently (another method, weights bytes or SIG), or
 *  - its latest run was an --overwrite run cut short (it records `started` before its first pair and
 *    `finished` after its last): outputs in `existing` older than its start were not redone, and an
 *    earlier run fused differently, so they may be that run's.
 * Skipping would leave a folder of two models that `tesg eval` scores as one. A folder without a
 * manifest (fused by another tool, or by a tesg that recorded runs only at their end) is resumed as
 * before. `existing`: the output files the run would skip; `fix`: what the message tells the user to do.
 * Errors: readFuseManifest's InputError.
 */
export async function checkResumeInto(dir: string, run: FuseRunRecord, existing: readonly string[], fix = 'pass --overwrite to fuse them again, or give another --out'): Promise<void> {
  const runs = (await readFuseManifest(dir))?.runs ?? [];
  const last = runs.at(-1);
  if (!last || existing.length === 0) return;
  if (!sameFusion(last, run)) {
    const cut = last.finished === false ? ` (cut short after ${last.fused} image(s)${last.overwrite ? '; images of earlier runs may remain' : ''})` : '';
    throw new UsageError(`${dir}: the latest run recorded in ${FUSE_MANIFEST} fused with ${fusionWords(last)}${cut}, not ${fusionWords(run)}, ` +
      `and ${existing.length} existing image(s) would be kept; ${fix}`);
  }
  if (!last.overwrite || last.finished !== false || !last.started) return;
  const earlier = runs.slice(0, -1).reverse().find((r) => !sameFusion(r, run));
  if (!earlier) return;
  const since = Date.parse(last.started);
  const stale: string[] = [];
  for (const f of existing) if ((await fs.stat(f)).mtimeMs < since) stale.push(path.basename(f));
  if (stale.length === 0) return;
  throw new UsageError(`${dir}: the --overwrite run of ${last.started} (${FUSE_MANIFEST}) was cut short; ${stale.length} image(s) it had not redone ` +
    `(first: ${stale[0]}) may be from the earlier run with ${fusionWords(earlier)}; ${fix}`);
}

/**
 * The manifest of a folder, or null when it has none (no tesg-fuse.json). Anything else that keeps it
 * from being read (a read error, invalid JSON, a file of that name that is not ours) is an InputError
 * naming the file: the callers that update the manifest would otherwise start a fresh one and replace
 * the file, losing every earlier run's record.
 */
export async function readFuseManifest(dir: string): Promise<FuseManifest | null> {
  const file = path.join(dir, FUSE_MANIFEST);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new InputError(file, `cannot read the fuse manifest (${code ?? (err as Error).message}); fix its permissions, or move it aside to let tesg start a new one`);
  }
  let doc: Partial<FuseManifest> | null;
  try {
    doc = JSON.parse(text) as Partial<FuseManifest> | null;
  } catch (err) {
    throw new InputError(file, `not valid JSON (${(err as Error).message.split('\n')[0]}); the fuse manifest is damaged: move it aside (tesg then starts a new one)`);
  }
  if (doc?.tool !== 'tesg fuse' || !Array.isArray(doc.runs)) {
    throw new InputError(file, 'not a tesg fuse manifest (no "tool": "tesg fuse" with a "runs" list); move it aside, tesg keeps its record under that name');
  }
  return doc as FuseManifest;
}

/**
 * Add a run to the folder's manifest (atomically; the previous runs are kept, since a resumed run may
 * mix settings). Errors: readFuseManifest's InputError (the file is left as it is).
 */
export async function appendFuseManifest(dir: string, run: FuseRunRecord): Promise<void> {
  await withManifestLock(dir, async () => {
    const doc = (await readFuseManifest(dir)) ?? { tool: 'tesg fuse', runs: [] };
    doc.runs.push(run);
    await writeFileAtomic(path.join(dir, FUSE_MANIFEST), JSON.stringify(doc, null, 1) + '\n');
  });
}

export interface MergeOptions {
  /**
   * 'add' (default): the matching entry gets `fused + run.fused` and `skipped + run.skipped`.
   * 'set': it gets `run.fused` and `run.skipped` as they are (the caller keeps the totals, as the queue does in Redis).
   */
  counts?: 'add' | 'set';
  /** Called after the manifest is read and merged, just before it is written; throwing aborts the write (the queue checks its lock here). */
  beforeWrite?: () => Promise<void>;
}

/**
 * Count outputs of a run in the folder's manifest: the run that `same` picks gets its counts updated
 * (see MergeOptions.counts), `run.date` and `run.finished` (when set), and moves to the end (the latest writer is last, as the
 * report reads it); when none matches, `run` is appended. Written atomically, under the folder's
 * manifest lock (withManifestLock), so concurrent processes on one folder keep every update; the queue
 * also holds its Redis lock (src/queue/manifest.ts). Returns the manifest written. Errors:
 * readFuseManifest's InputError (a damaged or foreign file is left as it is, never replaced),
 * withManifestLock's, beforeWrite's.
 */
export async function mergeFuseManifest(dir: string, run: FuseRunRecord, same: (earlier: FuseRunRecord) => boolean, opts: MergeOptions = {}): Promise<FuseManifest> {
  return withManifestLock(dir, () => mergeUnlocked(dir, run, same, opts));
}

async function mergeUnlocked(dir: string, run: FuseRunRecord, same: (earlier: FuseRunRecord) => boolean, opts: MergeOptions): Promise<FuseManifest> {
  const doc: FuseManifest = (await readFuseManifest(dir)) ?? { tool: 'tesg fuse', runs: [] };
  const i = doc.runs.findIndex(same);
  if (i < 0) {
    doc.runs.push(run);
  } else {
    const [earlier] = doc.runs.splice(i, 1);
    const add = (opts.counts ?? 'add') === 'add';
    doc.runs.push({ ...earlier, date: run.date, fused: add ? earlier.fused + run.fused : run.fused, skipped: add ? earlier.skipped + run.skipped : run.skipped, ...(run.finished === undefined ? {} : { finished: run.finished }) });
  }
  await opts.beforeWrite?.();
  await writeFileAtomic(path.join(dir, FUSE_MANIFEST), JSON.stringify(doc, null, 1) + '\n');
  return doc;
}
