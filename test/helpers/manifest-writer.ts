/**
 * Child process for test/report-manifest-lock.test.ts: appends COUNT runs, tagged with its WRITER id,
 * to DIR's tesg-fuse.json through mergeFuseManifest (each a read-modify-write under the folder lock),
 * yielding between updates so that writers interleave.
 * Usage: node --import tsx test/helpers/manifest-writer.ts DIR WRITER COUNT
 */
import { mergeFuseManifest, type FuseRunRecord } from '../../src/report/provenance.js';

const [dir, writer, count] = process.argv.slice(2);
for (let i = 0; i < Number(count); i++) {
  const run = { date: new Date().toISOString(), tesgVersion: 'test', command: `writer ${writer} #${i}`, method: 'max', sig: null, fused: 1, skipped: 0 } as unknown as FuseRunRecord;
  await mergeFuseManifest(dir, run, () => false);
  await new Promise((r) => setImmediate(r));
}
