/**
 * The SIG cache: a written entry reads back bit-exact (masks, embedding, texts), the text encoder id is
 * enforced, and `tesg sig` resumes (a second run skips complete entries and rewrites nothing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hasSigEntry, openSigCache, readSigCache, writeSigEntry } from '../src/semantics/cache.js';
import { LexiconEncoder } from '../src/semantics/lexicon-encoder.js';
import type { SigResult } from '../src/semantics/types.js';
import { InputError, MismatchError } from '../src/errors.js';
import { assertOneLineError, tesg, tesgOk } from './helpers/cli.js';

function fakeResult(): SigResult {
  const w = 7, h = 5;
  const vis = { width: w, height: h, data: Uint8Array.from({ length: w * h }, (_, i) => (i % 3 === 0 ? 1 : 0)) };
  const ir = { width: w, height: h, data: Uint8Array.from({ length: w * h }, (_, i) => (i % 5 === 0 ? 1 : 0)) };
  const mask = { width: w, height: h, data: vis.data.map((v, i) => v | ir.data[i]) };
  return {
    caption: 'a night road scene with two persons',
    captionWithout: 'a night road scene',
    keywords: ['person'],
    maskVis: vis,
    maskIr: ir,
    mask,
    embedding: new LexiconEncoder().encodeSync('a night road scene with two persons'),
    textEncoderId: 'tesg-lexicon-v1-77x64',
  };
}

test('a cache holds one SIG: another masker is refused (naming --force), --force rewrites the header', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tesg-sigc-'));
  const v2 = { textEncoderId: 'tesg-lexicon-v1-77x64', tokens: 77, dim: 64, captioner: 'detector+ir-warm:d', masker: 'detector+ir-warm:d' };
  const v3 = { ...v2, captioner: 'detector+ir-warm-v3:d', masker: 'detector+ir-warm-v3:d' };
  await openSigCache(dir, v2);
  await openSigCache(dir, v2); // the same SIG again: fine
  await assert.rejects(openSigCache(dir, v3), (e: unknown) => e instanceof MismatchError && /made by detector\+ir-warm:d, not detector\+ir-warm-v3:d; add --force/.test((e as Error).message));
  assert.equal(JSON.parse(await readFile(path.join(dir, 'sig.json'), 'utf8')).masker, v2.masker);
  await openSigCache(dir, v3, { force: true });
  assert.equal(JSON.parse(await readFile(path.join(dir, 'sig.json'), 'utf8')).masker, v3.masker);
});

test('cache round trip: masks, embedding and texts read back exactly', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tesg-sigc-'));
  await openSigCache(dir, { textEncoderId: 'tesg-lexicon-v1-77x64', tokens: 77, dim: 64 });
  const r = fakeResult();
  assert.equal(await hasSigEntry(dir, 'x'), false);
  await writeSigEntry(dir, 'x', r, 77, 64, { captionSource: 'user', keywordSource: 'caption' });
  assert.equal(await hasSigEntry(dir, 'x'), true);
  const back = await readSigCache(dir, 'x', 'tesg-lexicon-v1-77x64');
  assert.equal(back.caption, r.caption);
  assert.equal(back.captionWithout, r.captionWithout);
  assert.deepEqual(back.keywords, r.keywords);
  assert.deepEqual(Array.from(back.maskVis.data), Array.from(r.maskVis.data));
  assert.deepEqual(Array.from(back.maskIr.data), Array.from(r.maskIr.data));
  assert.deepEqual(Array.from(back.mask.data), Array.from(r.mask.data));
  assert.deepEqual(Buffer.from(back.embedding.buffer), Buffer.from(r.embedding.buffer));
  assert.equal(back.width, 7);
  // A model expecting another encoder, or a cache opened with another encoder: clear errors.
  await assert.rejects(readSigCache(dir, 'x', 'clip-vit-l14-77x768'), MismatchError);
  await assert.rejects(openSigCache(dir, { textEncoderId: 'clip-vit-l14-77x768', tokens: 77, dim: 768 }), MismatchError);
  await assert.rejects(readSigCache(dir, 'missing'), InputError);
  // A truncated embedding file is an InputError naming it.
  await writeFile(path.join(dir, 'embed', 'x.f32'), new Uint8Array(10));
  await assert.rejects(readSigCache(dir, 'x'), (e: unknown) => e instanceof InputError && /x\.f32/.test((e as Error).message));
});

test('tesg sig on the bundled samples, then again: the second run skips both pairs', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'tesg-sigcli-'));
  const args = ['sig', '--ir', 'samples/msrs/ir', '--vi', 'samples/msrs/vi', '--out', out, '--overlay'];
  await tesgOk(...args);
  for (const sub of ['mask_vis', 'mask_ir', 'mask', 'embed', 'text', 'overlay']) {
    assert.deepEqual((await readdir(path.join(out, sub))).filter((f) => !f.startsWith('.')).length, 2, sub);
  }
  const e = await readSigCache(out, '00537D', 'tesg-lexicon-v1-77x64');
  assert.deepEqual(e.keywords.slice(0, 2), ['person', 'bicycle']);
  const before = (await stat(path.join(out, 'text', '01102N.json'))).mtimeMs;
  const second = await tesgOk(...args);
  assert.match(second.stderr, /2 of 2 pairs already cached/);
  assert.equal((await stat(path.join(out, 'text', '01102N.json'))).mtimeMs, before);
  // --overwrite (tesg fuse's name for it) recomputes them, as --force does.
  const third = await tesgOk(...args, '--overwrite');
  assert.doesNotMatch(third.stderr, /already cached/);
  assert.ok((await stat(path.join(out, 'text', '01102N.json'))).mtimeMs > before, 'rewritten');
  // A user keyword the detector cannot find is refused before any work.
  assertOneLineError(await tesg(...args, '--keyword', 'zeppelin', '--force'), /zeppelin/);
});
