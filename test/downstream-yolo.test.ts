import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { parseYolo, readClassNames, readYolo } from '../src/downstream/yolo.js';
import { InputError } from '../src/errors.js';

test('parses YOLO lines with runs of spaces, trailing spaces, no final newline', () => {
  const g = parseYolo('0  0.5 0.5  0.2 0.4  \n\n2\t0.25 0.75 0.1 0.1', 'x.txt', 3);
  assert.equal(g.length, 2);
  assert.deepEqual(g[0], { cls: 0, box: { x1: 0.4, y1: 0.3, x2: 0.6, y2: 0.7 } });
  assert.equal(g[1].cls, 2);
  assert.ok(Math.abs(g[1].box.x1 - 0.2) < 1e-12 && Math.abs(g[1].box.y2 - 0.8) < 1e-12);
});

test('an empty file or blank lines give no objects', () => {
  assert.deepEqual(parseYolo('', 'e.txt', 3), []);
  assert.deepEqual(parseYolo('  \r\n\n', 'e.txt', 3), []);
});

test('bad lines are errors naming the file and line', () => {
  assert.throws(() => parseYolo('0 0.5 0.5 0.2', 'a.txt', 3), (e: unknown) => e instanceof InputError && /a\.txt: line 1: expected 5 fields/.test(e.message));
  assert.throws(() => parseYolo('\n3 0.5 0.5 0.2 0.2', 'b.txt', 3), /b\.txt: line 2: class must be an integer 0\.\.2/);
  assert.throws(() => parseYolo('0 0.5 x 0.2 0.2', 'c.txt', 3), /cy must be a number/);
  assert.throws(() => parseYolo('0 0.5 0.5 1.2 0.2', 'c.txt', 3), /w must be a number in 0\.\.1/);
});

const MSRS = '../shared/data/msrs/test/detection';
test('reads the MSRS detection labels', { skip: !existsSync(MSRS) && 'no ../shared data' }, async () => {
  // 00103D.txt: three persons, double spaces, no final newline (checked by hand).
  const g = await readYolo(`${MSRS}/00103D.txt`, 3);
  assert.equal(g.length, 3);
  assert.ok(g.every((o) => o.cls === 0));
  assert.ok(Math.abs(g[0].box.x1 - (0.7033943965517242 - 0.05118534482758621 / 2)) < 1e-15);
  assert.deepEqual(await readClassNames(`${MSRS}/classes.txt`), ['person', 'bicycle', 'car']);
  await assert.rejects(readYolo(`${MSRS}/nope.txt`, 3), /nope\.txt: cannot read label file \(ENOENT\)/);
});
