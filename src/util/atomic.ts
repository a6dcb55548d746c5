import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Write a file atomically: write a temp file beside the target, then rename over it.
 * A reader (or a kill mid-write) never sees a half-written file; the data is flushed to disk before
 * the rename, so a power loss leaves the old file or the new one. The temp name is unique per
 * process and call (a random part). Creates parent folders.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(target);
  await fs.mkdir(dir, { recursive: true });
  // `.<name>.<pid>.<digits>.tmp`: the stale-temp sweeps (training/checkpoint.ts, queue/) parse the pid;
  // the digits are the time and a random part, so two threads of one process do not share a temp file
  // (no node:crypto / worker_threads import: the browser bundle includes this module through stubs)
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}.tmp`);
  try {
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
