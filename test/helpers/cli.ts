/**
 * The `tesg` command as a child process (under tsx, from the repo root), for tests that check what a
 * user sees: exit code, stdout, stderr. And the one-line error contract every command keeps.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `tesg ARGS` to completion (never rejects: a failure is a non-zero `code`). */
export function tesg(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** Run `tesg ARGS` where it must succeed: rejects (naming the exit code and stderr) on a non-zero exit. */
export async function tesgOk(...args: string[]): Promise<CliResult> {
  const r = await tesg(...args);
  if (r.code !== 0) throw new Error(`tesg ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return r;
}

/** The error contract: exit 2, exactly one stderr line "tesg: error: ..." matching `pattern`, no stack. */
export function assertOneLineError(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('tesg: error:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
  assert.ok(!r.stderr.includes('    at '), `no stack trace expected:\n${r.stderr}`);
}
