/**
 * Every metric against every line of ../shared/oracle/metrics.jsonl (values from the CDDFuse
 * evaluator, see ../shared/oracle/README.md), at the README's tolerances: 1e-4 relative, 1e-3 for VIF.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readImage } from '../src/image/read.js';
import { toGray } from '../src/image/color.js';
import { METRICS } from '../src/metrics/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORACLE = path.join(ROOT, '..', 'shared', 'oracle', 'metrics.jsonl');
// The README's bar; SSIM reproduces scikit-image's float32 arithmetic step by step, so it is held
// to 1e-12 (it matches to the last bit on these files) to catch any drift from that emulation.
const TOLERANCE: Record<string, number> = { VIF: 1e-3, SSIM: 1e-12, SSIM_cddfuse: 1e-12 };

const lines = existsSync(ORACLE)
  ? readFileSync(ORACLE, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string | number>)
  : [];

test('the oracle file is there and names every registered metric', { skip: lines.length === 0 && 'no ../shared/oracle' }, () => {
  assert.ok(lines.length >= 5, `expected at least 5 oracle lines, got ${lines.length}`);
  for (const m of METRICS) assert.equal(typeof lines[0][m.name], 'number', `oracle has no ${m.name}`);
});

for (const ref of lines) {
  const label = path.basename(String(ref.fused));
  test(`oracle: ${label}`, async () => {
    const [fused, ir, vi] = await Promise.all(
      [ref.fused, ref.ir, ref.vi].map(async (p) => toGray(await readImage(path.join(ROOT, String(p))))),
    );
    for (const m of METRICS) {
      const want = ref[m.name] as number;
      const got = m.compute(fused, ir, vi);
      const rel = Math.abs(got - want) / Math.abs(want);
      const tol = TOLERANCE[m.name] ?? 1e-4;
      assert.ok(rel <= tol, `${label} ${m.name}: got ${got}, reference ${want}, relative error ${rel.toExponential(2)} > ${tol}`);
    }
  });
}
