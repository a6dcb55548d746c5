/**
 * Tokenizers of the paper-faithful ONNX providers, on tiny vocabularies written here. Every
 * expected id list below was worked out by hand from the vocab/merges in this file (comments show
 * the merge steps), following openai CLIP's simple_tokenizer.py rules.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BpeMerges } from '../src/semantics/tokenizers/bpe.js';
import { fromByteChars, toByteChars } from '../src/semantics/tokenizers/byte-level.js';
import { ClipTokenizer } from '../src/semantics/tokenizers/clip.js';
import { loadDetokenizer } from '../src/semantics/tokenizers/load-detokenizer.js';
import { writeTinyClipTokenizer } from './fixtures/onnx/tiny-clip-tokenizer.js';

const root = mkdtempSync(join(tmpdir(), 'tesg-tok-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function tmp(): string {
  const dir = join(root, `t${n++}`);
  mkdirSync(dir);
  return dir;
}

test('byte-level alphabet: space is Ġ, newline Ċ, printable ASCII itself, round trip of UTF-8', () => {
  assert.equal(toByteChars(' '), '\u0120');
  assert.equal(toByteChars('\n'), '\u010a');
  assert.equal(toByteChars('a!~'), 'a!~');
  assert.equal(toByteChars('é'), 'Ã©'); // UTF-8 C3 A9: both printable Latin-1
  for (const s of ['a café on the road', 'tab\there', '✓ 人 🚗']) assert.equal(fromByteChars(toByteChars(s)), s);
});

test('BPE merges: lowest rank first, every occurrence left to right', () => {
  const m = new BpeMerges(['a a', 'aa aa']);
  assert.deepEqual(m.apply(['a', 'a', 'a']), ['aa', 'a']);
  assert.deepEqual(m.apply(['a', 'a', 'a', 'a']), ['aaaa']); // a a a a -> aa aa -> aaaa
  assert.deepEqual(new BpeMerges(['a a']).apply(['a', 'a', 'a', 'a']), ['aa', 'aa']);
  assert.deepEqual(m.apply(['b']), ['b']);
});

test('BPE merge order decides the split of the same word', () => {
  // "abc" as a, b, c</w>. Rules a b (0), ab c</w> (1): a b -> ab; ab c</w> -> abc</w>.
  assert.deepEqual(new BpeMerges(['a b', 'ab c</w>', 'b c</w>']).apply(['a', 'b', 'c</w>']), ['abc</w>']);
  // b c</w> ranked first: b c</w> -> bc</w>; then (a, bc</w>) has no rule.
  assert.deepEqual(new BpeMerges(['b c</w>', 'a b', 'ab c</w>']).apply(['a', 'b', 'c</w>']), ['a', 'bc</w>']);
});

test('CLIP tokenizer: known strings on a tiny vocab', () => {
  const dir = writeTinyClipTokenizer(tmp());
  const tok = ClipTokenizer.fromFolder(dir);
  assert.equal(tok.length, 77);
  assert.equal(tok.bosId, 49406);
  assert.equal(tok.eosId, 49407);
  // abc -> abc</w> (7)
  assert.deepEqual(tok.tokenize('abc'), [7]);
  // lowercased, whitespace collapsed: "abc", "ab", "!" ; ab has no rule "a b</w>" -> a(0) b</w>(4); ! -> !</w>(10)
  assert.deepEqual(tok.tokenize('  ABC \n ab!'), [7, 0, 4, 10]);
  // "cab" -> c a b</w> -> (c a rank 4) ca(9) b</w>(4); "'s" -> ' s</w> -> 's</w>(11); digits one by one
  assert.deepEqual(tok.tokenize("cab's 12"), [9, 4, 11, 12, 13]);
  // HTML entity decoded to "&", which the tiny vocab lacks: unk = <|endoftext|>
  assert.deepEqual(tok.tokenize('&amp;'), [49407]);
  const ids = tok.encode('abc');
  assert.equal(ids.length, 77);
  assert.deepEqual(ids.slice(0, 4), [49406, 7, 49407, 49407]); // padded with eos, as SD 1.x
  assert.ok(ids.slice(2).every((i) => i === 49407));
});

test('CLIP tokenizer: pad token from special_tokens_map.json, length and truncation', () => {
  const dir = writeTinyClipTokenizer(tmp(), { padToken: '!', maxLength: 8 });
  const tok = ClipTokenizer.fromFolder(dir);
  assert.equal(tok.length, 8);
  assert.deepEqual(tok.encode('abc'), [49406, 7, 49407, 18, 18, 18, 18, 18]);
  // body abc ab ! abc = [7, 0, 4, 10, 7]; a length of 5 keeps 3 of them, then eos
  const short = ClipTokenizer.fromFolder(dir, { length: 5 });
  assert.deepEqual(short.encode('abc ab! abc'), [49406, 7, 0, 4, 49407]);
});

test('CLIP tokenizer: a folder without merges.txt names the file', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'vocab.json'), '{}');
  assert.throws(() => ClipTokenizer.fromFolder(dir), (e: Error) => e.name === 'InputError' && e.message.includes(join(dir, 'merges.txt')));
});

test('WordPiece detokenizer (BLIP vocab.txt): ## glued, specials skipped, punctuation cleaned', () => {
  const dir = tmp();
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'man', 'riding', 'bi', '##ke', '.', "'", 's', 'dog'];
  writeFileSync(join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  writeFileSync(join(dir, 'added_tokens.json'), JSON.stringify({ '[DEC]': 14 }));
  writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify({ pad_token: '[PAD]', sep_token: '[SEP]', cls_token: '[CLS]', unk_token: '[UNK]' }));
  const d = loadDetokenizer(dir);
  assert.equal(d.kind, 'wordpiece');
  assert.equal(d.tokenId('[DEC]'), 14);
  assert.equal(d.decode([14, 5, 6, 7, 8, 9, 10, 3, 0, 0]), 'a man riding bike.');
  assert.equal(d.decode([14, 5, 6, 11, 12, 13, 3]), "a man's dog");
});

test('byte-level detokenizer (GPT-2 vocab.json and tokenizer.json): Ġ is a space, UTF-8 rebuilt', () => {
  const dir = tmp();
  const vocab = { a: 0, 'Ġman': 1, 'Ġon': 2, 'Ġthe': 3, 'Ġbe': 4, ach: 5, '<|endoftext|>': 6, 'Ġcaf': 7, 'Ã©': 8 };
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
  writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify({ eos_token: '<|endoftext|>' }));
  const d = loadDetokenizer(dir);
  assert.equal(d.kind, 'byte-level');
  assert.equal(d.decode([6, 0, 1, 2, 3, 4, 5, 7, 8, 6]), 'a man on the beach café');

  const fast = tmp();
  writeFileSync(
    join(fast, 'tokenizer.json'),
    JSON.stringify({
      model: { type: 'BPE', vocab, merges: [] },
      decoder: { type: 'ByteLevel' },
      added_tokens: [{ id: 6, content: '<|endoftext|>', special: true }],
    }),
  );
  assert.equal(loadDetokenizer(fast).decode([6, 0, 1, 6]), 'a man');
});

test('tokenizer.json with a WordPiece model decodes as BERT', () => {
  const dir = tmp();
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      model: { type: 'WordPiece', vocab: { '[PAD]': 0, '[SEP]': 1, a: 2, car: 3, '##s': 4, ',': 5 } },
      decoder: { type: 'WordPiece', prefix: '##' },
      added_tokens: [{ id: 0, content: '[PAD]', special: true }, { id: 1, content: '[SEP]', special: true }, { id: 6, content: '[DEC]', special: true }],
    }),
  );
  const d = loadDetokenizer(dir);
  assert.equal(d.kind, 'wordpiece');
  assert.equal(d.decode([6, 2, 3, 4, 5, 2, 3, 1, 0]), 'a cars, a car');
});

test('a caption folder without any tokenizer file is an InputError naming the folder', () => {
  const dir = tmp();
  assert.throws(() => loadDetokenizer(dir), (e: Error) => e.name === 'InputError' && e.message.startsWith(dir) && e.message.includes('vocab.txt'));
});
