/**
 * Job identity without Redis: the canonical options JSON, the pair hash (what makes re-adding
 * idempotent and a changed input a new job) and the job payload check.
 */
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactUrl } from '../src/queue/defaults.js';
import { canonicalJson, jobId, JOB_FORMAT, methodDigest, pairHash, parseJob, type JobFuseOptions } from '../src/queue/job.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-queue-job-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const FUSE: JobFuseOptions = { method: 'average', stretch: 'minmax', gray: false, quality: 95, params: {} };

test('canonicalJson sorts keys at every level and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: 2, c: [1, { f: 1, e: 'x' }] }, u: undefined }), '{"a":{"c":[1,{"e":"x","f":1}],"d":2},"b":1}');
  assert.equal(canonicalJson({ ...FUSE, params: { tile: 0, weights: '/w' } }), canonicalJson({ params: { weights: '/w', tile: 0 }, quality: 95, gray: false, stretch: 'minmax', method: 'average' }));
});

test('pairHash: the bytes, the options and the output path count; the input paths do not', async () => {
  const [ir, vi] = ['ir', 'vi'].map((m) => path.join(ROOT, 'samples/msrs', m, '00537D.png'));
  const out = '/data/out/00537D.png';
  const h = await pairHash(ir, vi, out, FUSE);
  assert.match(h, /^[0-9a-f]{64}$/);
  const copy = path.join(tmp, 'ir-copy.png');
  copyFileSync(ir, copy);
  assert.equal(await pairHash(copy, vi, out, FUSE), h, 'same bytes elsewhere: same job');
  const bytes = readFileSync(ir);
  bytes[bytes.length - 20] ^= 1;
  writeFileSync(copy, bytes);
  assert.notEqual(await pairHash(copy, vi, out, FUSE), h, 'one byte of IR changed');
  assert.notEqual(await pairHash(ir, vi, out, { ...FUSE, method: 'max' }), h);
  assert.notEqual(await pairHash(ir, vi, out, { ...FUSE, params: { keyword: ['person'] } }), h);
  assert.notEqual(await pairHash(ir, vi, '/data/other/00537D.png', FUSE), h);
  await assert.rejects(pairHash(path.join(tmp, 'none.png'), vi, out, FUSE), /none\.png: no such file; check the path \(on a worker: is the shared folder mounted/);
});

test('pairHash, tesg method: a new model at the same weights path (a new default) is new work; the classic methods ignore models', async () => {
  const [ir, vi] = ['ir', 'vi'].map((m) => path.join(ROOT, 'samples/msrs', m, '00537D.png'));
  const out = '/data/out/00537D.png';
  const weights = path.join(tmp, 'model', 'tesg.safetensors');
  mkdirSync(path.dirname(weights), { recursive: true });
  copyFileSync(path.join(ROOT, 'weights/tesg.safetensors'), weights);
  copyFileSync(path.join(ROOT, 'weights/tesg.onnx'), path.join(tmp, 'model', 'tesg.onnx'));
  const tesgJob: JobFuseOptions = { ...FUSE, method: 'tesg', params: { weights } };
  const h = await pairHash(ir, vi, out, tesgJob);
  assert.equal(await pairHash(ir, vi, out, tesgJob), h);
  // the shipped digests of the two files, in order
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  assert.equal(await methodDigest(tesgJob), `${sha(weights)},${sha(path.join(tmp, 'model', 'tesg.onnx'))}`);
  copyFileSync(path.join(ROOT, 'weights/tesg-v2.1/tesg.onnx'), path.join(tmp, 'model', 'tesg.onnx'));
  const h2 = await pairHash(ir, vi, out, tesgJob);
  assert.notEqual(h2, h, 'another ONNX model beside the same weights path');
  copyFileSync(path.join(ROOT, 'weights/tesg-v2.1/tesg.safetensors'), weights);
  assert.notEqual(await pairHash(ir, vi, out, tesgJob), h2, 'other weights at the same path');
  assert.equal(await methodDigest({ ...FUSE, params: { weights } }), '', 'average: no model');
  assert.match(await methodDigest({ ...tesgJob, params: { weights: path.join(tmp, 'none.safetensors') } }), /^missing,missing$/);
});

test('jobId: kind, readable stem, 24 hex digits of the hash', () => {
  const h = 'ab'.repeat(32);
  assert.equal(jobId('pair', '00537D', h), `pair.00537D.${'ab'.repeat(12)}`);
  assert.equal(jobId('pair', 'night 3/cam:1', h), `pair.night_3_cam_1.${'ab'.repeat(12)}`);
});

test('parseJob: a pair job passes; an unknown kind or format is named', () => {
  const job = { kind: 'pair', format: JOB_FORMAT, stem: 's', ir: '/i', vi: '/v', out: '/o.png', fuse: FUSE, hash: 'h' };
  assert.deepEqual(parseJob(job), job);
  assert.throws(() => parseJob({ ...job, kind: 'frame' }), /unknown job kind 'frame'; this worker knows: pair, video-chunk/);
  assert.throws(() => parseJob({ ...job, format: 1 }), /job format 1, this worker reads format 2 \(update tesg on every machine\)/);
  assert.throws(() => parseJob({ ...job, out: 3 }), /'out' is number, expected a string/);
});

test('parseJob: a video-chunk job passes; a bad index is named', () => {
  const job = { kind: 'video-chunk', format: JOB_FORMAT, stem: 'out.mp4:2/3', workDir: '/o.mp4.tesg-work', index: 1, chunks: 3, output: '/o.mp4', hash: 'h' };
  assert.deepEqual(parseJob(job), job);
  assert.throws(() => parseJob({ ...job, index: 3 }), /index 3 of 3 chunks/);
  assert.throws(() => parseJob({ ...job, index: -1 }), /'index' is -1, expected an integer >= 0/);
  assert.throws(() => parseJob({ ...job, workDir: undefined }), /'workDir' is undefined, expected a string/);
});

test('redactUrl hides a Redis password in messages', () => {
  assert.equal(redactUrl('redis://:s3cret@queue-host:6379'), 'redis://:***@queue-host:6379');
  assert.equal(redactUrl('rediss://user:s3cret@h:6380/2'), 'rediss://user:***@h:6380/2');
  assert.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
});
