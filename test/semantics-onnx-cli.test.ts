/**
 * `tesg sig --sd DIR`: the paper-faithful providers plugged into the real command. On the tiny SD
 * export (test/fixtures/onnx/tiny-sd.ts) the UNet makes the text matter only in the left half of the
 * latent, so M_vis and M_ir must be exactly the left half, and the cache must record the SD text
 * encoder (77 x 4) instead of the built-in lexicon encoder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { readHeader, readSigCache } from '../src/semantics/cache.js';
import { TINY_SD_DIM, writeTinySd } from './fixtures/onnx/tiny-sd.js';
import { tesgOk } from './helpers/cli.js';

test('tesg sig --sd: noise-difference masks and SD text embedding land in the cache', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'tesg-sig-sd-'));
  try {
    // 64 x 32 images; the command's default long side 512 gives 512 x 256 samples, 64 x 32 latents.
    const sd = writeTinySd(path.join(root, 'sd'), { latentH: 32, latentW: 64 });
    const rgb = Buffer.alloc(64 * 32 * 3, 0);
    for (let i = 0; i < 64 * 32; i++) rgb.set([200, 120 + (i % 7), 60], i * 3);
    for (const m of ['ir', 'vi']) {
      await mkdir(path.join(root, m));
      await sharp(rgb, { raw: { width: 64, height: 32, channels: 3 } }).png().toFile(path.join(root, m, 'p1.png'));
    }
    const out = path.join(root, 'cache');
    await tesgOk('sig', '--ir', path.join(root, 'ir'), '--vi', path.join(root, 'vi'), '--out', out, '--sd', sd, '--caption', 'a car on the road');
    const header = await readHeader(out);
    assert.match(header.textEncoderId, /^sd-onnx:sd:77x4$/);
    const e = await readSigCache(out, 'p1', header.textEncoderId);
    assert.deepEqual(e.keywords, ['car']);
    assert.equal(e.captionWithout, 'on the road');
    assert.equal(e.embedding.length, 77 * TINY_SD_DIM);
    for (const m of [e.maskVis, e.maskIr, e.mask]) {
      let left = 0, right = 0;
      for (let y = 0; y < 32; y++) for (let x = 0; x < 64; x++) (x < 32 ? (left += m.data[y * 64 + x]) : (right += m.data[y * 64 + x]));
      assert.equal(right, 0, 'no mask where the tiny UNet ignores the text');
      assert.ok(left > 0.9 * 32 * 32, `left half covered: ${left} of ${32 * 32}`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
