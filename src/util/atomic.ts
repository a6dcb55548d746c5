import { randomInt } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';

/**
 * Write a file atomically: write a temp file beside the target, then rename over it.
 * A reader (or a kill mid-write) never sees a half-written file; the data is flushed to disk before
 * the rename, so a power loss leaves the old file or the new one. The temp name is unique per
 * process, thread and call. Creates parent folders.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(target);
  await fs.mkdir(dir, { recursive: true });
  // `.<name>.<pid>.<digits>.tmp`: the stale-temp sweeps (training/checkpoint.ts, queue/) parse the pid;
  // the digits are the time, the thread and a random part, so two threads never share a temp file
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}${threadId}${randomInt(1e6)}.tmp`);
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
