/**
 * The built-in lexicon text encoder: shape, determinism (fixed reference values), padding,
 * plural folding, and that different captions give different embeddings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LEXICON_ID, LexiconEncoder, wordVector } from '../src/semantics/lexicon-encoder.js';

const enc = new LexiconEncoder();

test('shape 77 x 64 and id', async () => {
  assert.equal(enc.id, 'tesg-lexicon-v1-77x64');
  assert.equal(LEXICON_ID, enc.id);
  const e = await enc.encode('a night road scene with two persons and a car');
  assert.equal(e.length, 77 * 64);
});

test('deterministic: fixed reference values, same bytes from a second encoder instance', async () => {
  const v = wordVector('person');
  let norm = 0;
  for (const x of v) norm += x * x;
  assert.ok(Math.abs(norm - 1) < 1e-6);
  // Reference values from this implementation (FNV-1a seed, mulberry32, Box-Muller), frozen:
  // changing them changes every cached embedding and needs a new encoder id.
  assert.deepEqual(Array.from(v.slice(0, 3), (x) => Number(x.toFixed(6))), REF_PERSON);
  const a = await enc.encode('two persons and a car');
  const b = await new LexiconEncoder().encode('two persons and a car');
  assert.deepEqual(Buffer.from(a.buffer), Buffer.from(b.buffer));
});

test('tokens: [start] words [end], plurals folded, unknown words as [unk], padding rows zero', async () => {
  assert.deepEqual(enc.tokenize('Two persons, three Buses and a zeppelin'), ['two', 'person', 'three', 'bus', 'and', 'a', '[unk]']);
  const e = await enc.encode('two persons');
  const row = (i: number) => e.subarray(i * 64, (i + 1) * 64);
  assert.deepEqual(Array.from(row(0)), Array.from(wordVector('[start]')));
  assert.deepEqual(Array.from(row(2)), Array.from(wordVector('person')));
  assert.deepEqual(Array.from(row(3)), Array.from(wordVector('[end]')));
  for (let i = 4; i < 77; i++) assert.ok(row(i).every((x) => x === 0), `row ${i} is padding`);
  // "persons" and "person" encode the same.
  assert.deepEqual(Array.from(await enc.encode('a person')), Array.from(await enc.encode('a persons')));
});

test('different captions differ; a long caption is cut to 77 tokens', async () => {
  const a = await enc.encode('a night road scene with two persons and a car');
  const b = await enc.encode('a day road scene with two persons and a car');
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
  assert.ok(diff > 1, `embeddings differ (L1 ${diff})`);
  const long = await enc.encode(Array(200).fill('car').join(' '));
  assert.deepEqual(Array.from(long.subarray(76 * 64)), Array.from(wordVector('[end]')));
});

const REF_PERSON = [-0.07035, 0.189043, 0.128544];
