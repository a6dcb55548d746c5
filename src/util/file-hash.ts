import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';

/** SHA-256 (hex) of a file's bytes. Rejects with the fs error (ENOENT, EACCES, ...) for the caller to word. */
export async function sha256OfFile(file: string): Promise<string> {
  return createHash('sha256').update(await fs.readFile(file)).digest('hex');
}
