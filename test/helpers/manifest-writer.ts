/**
 * Child process for test/report-manifest-lock.test.ts: appends COUNT runs, tagged with its WRITER id,
 * to DIR's tesg-fuse.json through mergeFuseManifest (each a read-modify-write under the folder lock),
 * yielding between updates so that writers interleave. A start barrier makes them overlap: each
 * writes DIR/ready-WRITER once loaded, then waits for DIR/go (the test writes it when all are ready).
 * Usage: node --import tsx test/helpers/manifest-writer.ts DIR WRITER COUNT
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mergeFuseManifest, type FuseRunRecord } from '../../src/report/provenance.js';

const [dir, writer, count] = process.argv.slice(2);
writeFileSync(path.join(dir, `ready-${writer}`), '');
while (!existsSync(path.join(dir, 'go'))) await new Promise((r) => setTimeout(r, 5));
for (let i = 0; i < Number(count); i++) {
  const run = { date: new Date().toISOString(), tesgVersion: 'test', command: `writer ${writer} #${i}`, method: 'max', sig: null, fused: 1, skipped: 0 } as unknown as FuseRunRecord;
  await mergeFuseManifest(dir, run, () => false);
  await new Promise((r) => setImmediate(r));
}
