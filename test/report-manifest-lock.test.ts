/**
 * The fuse manifest's folder lock (src/report/provenance.ts withManifestLock): four processes each
 * append 15 runs to one tesg-fuse.json at the same time, and all 60 are there afterwards (without the
 * lock, read-modify-write races drop some: with the lock bypassed, three runs kept 40, 27 and 41 of 60). A
 * lock left by a killed process is taken over once stale; a held lock is waited for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FUSE_MANIFEST, FUSE_MANIFEST_LOCK, mergeFuseManifest, readFuseManifest, withManifestLock, type FuseRunRecord } from '../src/report/provenance.js';
import { ROOT } from './helpers/cli.js';

const run = (command: string) => ({ date: new Date().toISOString(), tesgVersion: 'test', command, method: 'max', sig: null, fused: 1, skipped: 0 }) as unknown as FuseRunRecord;

function writer(dir: string, id: number, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', 'test/helpers/manifest-writer.ts', dir, String(id), String(count)], { cwd: ROOT }, (err, _out, stderr) =>
      err ? reject(new Error(`writer ${id}: ${stderr}`)) : resolve(),
    );
  });
}

test('four processes appending to one manifest at once keep all 60 runs', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tesg-lock-'));
  try {
    const writers = [1, 2, 3, 4].map((id) => writer(dir, id, 15));
    // Start barrier: all four loaded before any writes, so their updates overlap.
    while ((await fs.readdir(dir)).filter((f) => f.startsWith('ready-')).length < 4) await new Promise((r) => setTimeout(r, 10));
    await fs.writeFile(path.join(dir, 'go'), '');
    await Promise.all(writers);
    const doc = await readFuseManifest(dir);
    const commands = doc!.runs.map((r) => r.command).sort();
    assert.equal(commands.length, 60, `kept ${commands.length} of 60`);
    assert.equal(new Set(commands).size, 60);
    await assert.rejects(fs.stat(path.join(dir, FUSE_MANIFEST_LOCK)), /ENOENT/, 'the lock is removed after use');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a held lock is waited for; a stale one (its holder killed) is taken over', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tesg-lock-'));
  try {
    let inside = false;
    const order: string[] = [];
    let held!: () => void;
    const holding = new Promise<void>((r) => (held = r));
    const first = withManifestLock(dir, async () => {
      inside = true;
      held();
      await new Promise((r) => setTimeout(r, 300));
      order.push('first');
      inside = false;
    });
    await holding; // the first holder has the lock
    await mergeFuseManifest(dir, run('second'), () => false);
    assert.equal(inside, false, 'the merge ran after the holder let go');
    order.push('second');
    await first;
    assert.deepEqual(order, ['first', 'second']);
    // A lock folder whose mtime is 20 s old: what a killed holder leaves (its mtime is refreshed every 2 s while held).
    const lock = path.join(dir, FUSE_MANIFEST_LOCK);
    await fs.mkdir(lock);
    const old = new Date(Date.now() - 20_000);
    await fs.utimes(lock, old, old);
    await mergeFuseManifest(dir, run('third'), () => false);
    assert.deepEqual((await readFuseManifest(dir))!.runs.map((r) => r.command), ['second', 'third']);
    assert.ok(!(await fs.readdir(dir)).includes(FUSE_MANIFEST_LOCK));
    assert.ok((await fs.readdir(dir)).includes(FUSE_MANIFEST));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a folder that cannot hold the lock is one error at once, naming it and the fix (no 15 s wait)', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tesg-lock-'));
  try {
    // --out under a regular file: the folder cannot be made (any user, root included).
    await fs.writeFile(path.join(dir, 'file'), '');
    let t0 = Date.now();
    await assert.rejects(mergeFuseManifest(path.join(dir, 'file', 'out'), run('x'), () => false), /file\/out: cannot create the output folder \(ENOTDIR\); give a writable --out/);
    assert.ok(Date.now() - t0 < 2000, `failed after ${Date.now() - t0} ms`);
    if (process.getuid?.() !== 0) {
      // A read-only folder (root would write into it anyway).
      const ro = path.join(dir, 'ro');
      await fs.mkdir(ro, { mode: 0o555 });
      t0 = Date.now();
      await assert.rejects(mergeFuseManifest(ro, run('x'), () => false), /\.tesg-fuse\.json\.lock: cannot lock the fuse manifest \(EACCES\); make .* writable, or give another --out/);
      assert.ok(Date.now() - t0 < 2000, `failed after ${Date.now() - t0} ms`);
      await fs.chmod(ro, 0o755);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
