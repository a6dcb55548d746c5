import { statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';

/** What a command says when it is given none of its own: generic "give instead" texts. */
const DEFAULT_HINT: Record<'file' | 'folder', string> = {
  file: 'the output is a file: give a file name, not a folder',
  folder: 'the output is a folder (created if missing): give a folder, not a file',
};

/**
 * Refuse, before any work, an output path that cannot be written, so a command fails with one line
 * instead of a stack trace after its work is done.
 *
 * Inputs: `out`, the output path as the user gave it; `kind`, what the command writes there ('file':
 * one file, 'folder': a folder it creates if missing and writes into); `hint`, optional, what that
 * option takes, said after "is a folder; " / "is a file; " (e.g. "--out takes a folder for the
 * cache"); without it a generic text.
 *
 * Errors (InputError, exit 2, one line naming the path):
 * - `out` is an existing folder and kind is 'file': "OUT: is a folder; HINT";
 * - `out` is an existing file and kind is 'folder' (also for "OUT/" with OUT a file): "OUT: is a file; HINT";
 * - a folder above `out` is a file: "THAT_FILE: is a file, so OUT cannot be created under it; choose
 *   another output path".
 * A path that does not exist yet under folders (or nothing) is fine. Other stat errors (EACCES, ...)
 * are thrown as they are.
 */
export function checkOutputPath(out: string, kind: 'file' | 'folder', hint?: string): void {
  // undefined where nothing is (ENOENT) or a parent is a file (ENOTDIR, found by the walk below)
  const stat = (p: string) => {
    try {
      return statSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw err;
    }
  };
  // "OUT/" where OUT is a file: stat says ENOTDIR, so look at OUT itself
  const trimmed = out.replace(/[\\/]+$/, '');
  const st = stat(out) ?? (trimmed !== out && trimmed !== '' ? stat(trimmed) : undefined);
  if (st && kind === 'file' && st.isDirectory()) throw new InputError(out, `is a folder; ${hint ?? DEFAULT_HINT.file}`);
  if (st && kind === 'folder' && !st.isDirectory()) throw new InputError(out, `is a file; ${hint ?? DEFAULT_HINT.folder}`);
  if (st) return;
  for (let dir = path.dirname(path.resolve(out)); ; dir = path.dirname(dir)) {
    const up = stat(dir);
    if (up) {
      if (!up.isDirectory()) throw new InputError(dir, `is a file, so ${out} cannot be created under it; choose another output path`);
      return;
    }
    if (path.dirname(dir) === dir) return;
  }
}
