/**
 * Pairing by file-name stem across folders (used by `tesg fuse` and `tesg eval`): extensions may
 * differ, hidden and non-image files are ignored, lone files are listed per folder, duplicates refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError, MismatchError } from '../src/errors.js';
import { countUnmatched, describeUnmatched, fileStem, isImageFile, pairByStem } from '../src/util/pairing.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-pair-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function folder(name: string, files: string[]): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(path.join(dir, f), 'x');
  return dir;
}

test('image names: the six extensions in any case; hidden files and other types are not images', () => {
  assert.deepEqual(['a.png', 'b.JPG', 'c.jpeg', 'd.bmp', 'e.tif', 'f.TIFF'].map(isImageFile), [true, true, true, true, true, true]);
  assert.deepEqual(['.a.png', 'x.txt', 'y.gif', 'noext', '.out.png.123.tmp'].map(isImageFile), [false, false, false, false, false]);
  assert.deepEqual([fileStem('00103D.png'), fileStem('a.b.jpg'), fileStem('FLIR_1.jpeg')], ['00103D', 'a.b', 'FLIR_1']);
});

test('two folders: matched stems across extensions, sorted; lone files per folder', async () => {
  const ir = folder('ir', ['b.png', 'a.png', 'c.png', '.hidden.png', 'notes.txt']);
  const vi = folder('vi', ['a.jpg', 'b.PNG', 'd.bmp']);
  mkdirSync(path.join(vi, 'c.png')); // a folder named like an image is not one
  const { matched, unmatched } = await pairByStem({ ir, vi });
  assert.deepEqual(matched, [
    { stem: 'a', files: { ir: path.join(ir, 'a.png'), vi: path.join(vi, 'a.jpg') } },
    { stem: 'b', files: { ir: path.join(ir, 'b.png'), vi: path.join(vi, 'b.PNG') } },
  ]);
  assert.deepEqual(unmatched, { ir: ['c.png'], vi: ['d.bmp'] });
  assert.equal(countUnmatched(unmatched), 2);
  assert.equal(describeUnmatched(unmatched), 'ir: c.png; vi: d.bmp');
});

test('three folders (eval: ir, vi, fused): a stem must be in all three', async () => {
  const ir = folder('t-ir', ['1.png', '2.png', '3.png']);
  const vi = folder('t-vi', ['1.png', '2.png', '3.png']);
  const fused = folder('t-fused', ['1.png', '3.jpg']);
  const { matched, unmatched } = await pairByStem({ ir, vi, fused });
  assert.deepEqual(matched.map((m) => m.stem), ['1', '3']);
  assert.deepEqual(unmatched, { ir: ['2.png'], vi: ['2.png'] });
});

test('errors: missing folder, a file given as folder, two files with one stem', async () => {
  const ok = folder('ok', ['a.png']);
  await assert.rejects(pairByStem({ ir: path.join(tmp, 'nope'), vi: ok }), (e: Error) => e instanceof InputError && /nope: no such folder/.test(e.message));
  await assert.rejects(pairByStem({ ir: path.join(ok, 'a.png'), vi: ok }), (e: Error) => e instanceof InputError && /a\.png: is a file, expected a folder/.test(e.message));
  const dup = folder('dup', ['a.png', 'a.jpg']);
  await assert.rejects(pairByStem({ ir: dup, vi: ok }), (e: Error) => e instanceof MismatchError && /share the name stem 'a' \(a\.(png|jpg), a\.(png|jpg)\)/.test(e.message));
});

test('describeUnmatched caps long lists', () => {
  const many = { ir: Array.from({ length: 14 }, (_, i) => `${i}.png`) };
  assert.equal(describeUnmatched(many, 3), 'ir: 0.png, 1.png, 2.png and 11 more');
});
