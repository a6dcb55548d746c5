/**
 * `tesg serve`'s static server: files with their types and the isolation headers the page's wasm
 * threads need, nothing outside the site folder, 404/405, and the one-line error when the site is
 * not built.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { UsageError } from '../src/errors.js';
import { resolveSitePath, startServer, type RunningServer } from '../src/cli/commands/serve.js';

const TMP = mkdtempSync(path.join(os.tmpdir(), 'tesg-serve-'));
const SITE = path.join(TMP, 'site');
let server: RunningServer;

before(async () => {
  mkdirSync(path.join(SITE, 'wasm'), { recursive: true });
  writeFileSync(path.join(SITE, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(path.join(SITE, 'wasm', 'a b.wasm'), Buffer.from([0, 97, 115, 109]));
  writeFileSync(path.join(TMP, 'secret.txt'), 'outside the site');
  server = await startServer({ dir: SITE, port: 0 });
});
after(async () => {
  await server?.close();
  rmSync(TMP, { recursive: true, force: true });
});

/** Raw request (fetch would normalise the '..' away before it reaches the server). */
function get(pathname: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: pathname, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves files with their type and cross-origin isolation headers', async () => {
  const index = await get('/');
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(index.headers['cross-origin-embedder-policy'], 'require-corp');
  const wasm = await get('/wasm/a%20b.wasm?v=1');
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers['content-type'], 'application/wasm');
  assert.deepEqual([...wasm.body], [0, 97, 115, 109]);
  assert.equal((await get('/wasm/a%20b.wasm', 'HEAD')).headers['content-length'], '4');
});

test('nothing outside the site, no listings, no writes', async () => {
  assert.equal((await get('/../secret.txt')).status, 404);
  assert.equal((await get('/%2e%2e/secret.txt')).status, 404);
  assert.equal((await get('/wasm')).status, 404, 'a folder is not listed');
  assert.equal((await get('/missing.js')).status, 404);
  assert.equal((await get('/index.html', 'POST')).status, 405);
  assert.equal(resolveSitePath(SITE, '/../secret.txt'), path.join(SITE, 'secret.txt'), 'normalised inside the root');
  assert.equal(resolveSitePath(SITE, '/%E0%A4%A'), null, 'bad escapes are refused');
  assert.equal(resolveSitePath(SITE, '/a%00b'), null);
});

test('an unbuilt site is a one-line usage error saying how to build it', async () => {
  await assert.rejects(startServer({ dir: path.join(TMP, 'nothing'), port: 0 }), (err: unknown) => err instanceof UsageError && /npm run build:web/.test(err.message));
});
