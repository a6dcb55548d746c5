/**
 * V* and T^ (paper sec. 3.2): keywords found in captions, and their clean removal with counts,
 * articles and dangling connectors; the built-in captioner's sentences and the captions file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findKeywords, removeKeywords } from '../src/semantics/keywords.js';
import { canonicalKeyword } from '../src/semantics/sig.js';
import { sceneCaption } from '../src/semantics/scene-caption.js';
import { readCaptionsFile } from '../src/semantics/captions-file.js';
import { InputError } from '../src/errors.js';

test('findKeywords: canonical keys in order of first appearance, plurals and synonyms folded', () => {
  assert.deepEqual(findKeywords('a night road scene with two persons and a car'), ['person', 'car']);
  assert.deepEqual(findKeywords('Two bikes, a Truck and some people.'), ['bicycle', 'truck', 'person']);
  assert.deepEqual(findKeywords('an empty street at night'), []);
  assert.deepEqual(findKeywords('a dog and a cat', { animal: ['dog', 'cat'] }), ['animal']);
});

test('removeKeywords: T^ on known strings', () => {
  const T = 'a night road scene with two persons and a car';
  assert.equal(removeKeywords(T, ['person']), 'a night road scene with a car');
  assert.equal(removeKeywords(T, ['car']), 'a night road scene with two persons');
  assert.equal(removeKeywords(T, ['person', 'car']), 'a night road scene');
  assert.equal(removeKeywords(T, []), T);
  assert.equal(removeKeywords('two persons, a car and a bike on the road', ['person']), 'a car and a bike on the road');
  assert.equal(removeKeywords('a car, a truck and a bus', ['truck']), 'a car and a bus');
  assert.equal(removeKeywords('a group of people walking past a parked car', ['person']), 'walking past a parked car');
  assert.equal(removeKeywords('A red Car parked on the street.', ['car']), 'parked on the street.');
  // "bike" as the user types it removes "bicycles" too.
  assert.equal(removeKeywords('a day road scene with three bicycles and a bus', [canonicalKeyword('bike')]), 'a day road scene with a bus');
});

test('sceneCaption: counts, articles, order, day/night; its keywords come back out of it', () => {
  const d = (label: string) => ({ x1: 0, y1: 0, x2: 1, y2: 1, score: 0.5, label });
  const order = ['person', 'car', 'bicycle', 'motorcycle', 'bus', 'truck'];
  const c = sceneCaption(true, [d('car'), d('person'), d('person'), d('dog')], order);
  assert.equal(c, 'a night road scene with two persons and a car');
  assert.equal(sceneCaption(false, [], order), 'a day road scene');
  assert.equal(sceneCaption(false, [d('bus'), d('truck'), d('bicycle')], order), 'a day road scene with a bicycle, a bus and a truck');
  assert.deepEqual(findKeywords(c), ['person', 'car']);
  assert.equal(removeKeywords(c, findKeywords(c)), 'a night road scene');
});

test('captions file: JSON and TSV forms; a malformed line names the file and line', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tesg-caps-'));
  const json = path.join(dir, 'c.json');
  await writeFile(json, JSON.stringify({ a: 'two persons', b: { caption: 'a car', keywords: ['car'] } }));
  const j = await readCaptionsFile(json);
  assert.deepEqual(j.get('a'), { caption: 'two persons' });
  assert.deepEqual(j.get('b'), { caption: 'a car', keywords: ['car'] });
  const tsv = path.join(dir, 'c.tsv');
  await writeFile(tsv, '# comment\n00537D\ttwo cyclists on a road\tperson,bike\n01102N\ta dark street\n');
  const t = await readCaptionsFile(tsv);
  assert.deepEqual(t.get('00537D'), { caption: 'two cyclists on a road', keywords: ['person', 'bike'] });
  assert.deepEqual(t.get('01102N'), { caption: 'a dark street', keywords: undefined });
  await writeFile(tsv, 'no-tab-here\n');
  await assert.rejects(readCaptionsFile(tsv), (e: unknown) => e instanceof InputError && /line 1/.test((e as Error).message));
});
