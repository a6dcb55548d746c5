import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Write a file atomically: write a temp file beside the target, then rename over it.
 * A reader (or a kill mid-write) never sees a half-written file. Creates parent folders.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(target);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
