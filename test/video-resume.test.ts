/**
 * Resuming `tesg fuse-video`: a run killed (SIGKILL) after some chunks are complete leaves its work dir;
 * `--resume` fuses only the missing chunks and joins the same video, frame for frame, as a run that
 * was never interrupted. Without --resume an existing work dir is refused, and --resume with other
 * settings names what differs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { planVideo } from '../src/video/fuse-video.js';
import { fuseVideoChunk } from '../src/video/chunk.js';
import { assertOneLineError, decodeGray, encodeClip, pingPong, probe, ROOT, sequenceFolder, tesg, videoSkip } from './helpers/video-clips.js';

const skip = videoSkip();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-video-resume-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const p = (...parts: string[]) => path.join(tmp, ...parts);

/** Start fuse-video and SIGKILL it as soon as `segment` (a complete chunk) appears; resolves the chunk files then present. */
function runAndKillAfter(args: string[], workDir: string, segment: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: 'ignore' });
    const timer = setInterval(() => {
      if (existsSync(path.join(workDir, segment))) {
        child.kill('SIGKILL');
        clearInterval(timer);
      }
    }, 5);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      if (signal !== 'SIGKILL') reject(new Error(`the run ended (exit ${code}) before it could be killed`));
      else resolve(readdirSync(workDir).filter((f) => /^chunk-\d+(\.ts)?$/.test(f)).sort());
    });
  });
}

test('kill midway, --resume: the same frames as an uninterrupted run, finished chunks not redone', { skip }, async () => {
  const frames = pingPong(40);
  const ir = encodeClip(sequenceFolder(p('seq', 'ir'), 'ir', frames), p('ir.mkv'));
  const vi = encodeClip(sequenceFolder(p('seq', 'vi'), 'vi', frames), p('vi.mkv'));
  const args = (out: string) => ['fuse-video', ir, vi, '-o', out, '-m', 'laplacian', '--chunk', '4', '--preset', 'veryfast'];

  const whole = await tesg(...args(p('whole.mp4')));
  assert.equal(whole.code, 0, whole.stderr);

  const out = p('resumed.mp4'), work = `${out}.tesg-work`;
  const done = await runAndKillAfter(args(out), work, 'chunk-000001.ts');
  assert.ok(done.length >= 2 && done.length < 10, `chunks complete at the kill: ${done.join(', ')}`);
  assert.ok(!existsSync(out), 'no output from a killed run');
  const firstMtime = statSync(path.join(work, 'chunk-000000.ts')).mtimeMs;

  assertOneLineError(await tesg(...args(out)), /resumed\.mp4\.tesg-work holds an interrupted run of this output \(\d+ of 10 chunks done\); pass --resume to continue it, or delete that folder to start over/);
  assertOneLineError(await tesg(...args(out).map((a) => (a === 'laplacian' ? 'average' : a)), '--resume'), /cannot resume: the run in .*resumed\.mp4\.tesg-work was made with other method; use the same inputs and options/);
  assert.equal(statSync(path.join(work, 'chunk-000000.ts')).mtimeMs, firstMtime, 'a refused resume touches nothing');

  const resumed = await tesg(...args(out), '--resume');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, new RegExp(`, ${done.length} of 10 chunks from the earlier run; ${40 - 4 * done.length} frames in`));
  assert.ok(!existsSync(work), 'the work dir is removed at the end');
  assert.deepEqual(probe(out), probe(p('whole.mp4')));
  const [a, b] = [decodeGray(out, 360, 270), decodeGray(p('whole.mp4'), 360, 270)];
  assert.equal(a.length, 40);
  for (let k = 0; k < 40; k++) assert.ok(a[k].equals(b[k]), `frame ${k} differs`);
});

test('--resume after a kill in PNG-frame mode gives the whole folder', { skip }, async () => {
  const frames = pingPong(24);
  const ir = sequenceFolder(p('seq24', 'ir'), 'ir', frames), vi = sequenceFolder(p('seq24', 'vi'), 'vi', frames);
  const out = p('frames');
  const args = ['fuse-video', ir, vi, '-o', out + '/', '-m', 'laplacian', '--chunk', '3'];
  const done = await runAndKillAfter(args, `${out}.tesg-work`, 'chunk-000000');
  assert.ok(done.length >= 1 && done.length < 8, `chunks complete at the kill: ${done.join(', ')}`);
  assert.ok(!existsSync(out));
  const r = await tesg(...args, '--resume');
  assert.equal(r.code, 0, r.stderr);
  const ref = await tesg('fuse-video', ir, vi, '-o', p('frames-ref') + '/', '-m', 'laplacian');
  assert.equal(ref.code, 0, ref.stderr);
  assert.deepEqual(readdirSync(out).sort(), readdirSync(p('frames-ref')).sort());
  assert.equal(readdirSync(out).length, 24);
  for (const f of readdirSync(out)) assert.ok(readFileSync(path.join(out, f)).equals(readFileSync(path.join(p('frames-ref'), f))), f);
});

test('a plan records the model\'s digest: --resume after the weights at the same path changed is refused, the same weights resume', { skip }, async () => {
  const frames = pingPong(4);
  const ir = sequenceFolder(p('seq4', 'ir'), 'ir', frames), vi = sequenceFolder(p('seq4', 'vi'), 'vi', frames);
  const weights = p('model', 'tesg.safetensors');
  mkdirSync(path.dirname(weights), { recursive: true });
  const put = (from: string) => {
    copyFileSync(path.join(ROOT, from, 'tesg.safetensors'), weights);
    copyFileSync(path.join(ROOT, from, 'tesg.onnx'), p('model', 'tesg.onnx'));
  };
  put('weights');
  const opts = { method: 'tesg', params: { weights } };
  const out = p('model-change.mkv');
  const plan = await planVideo(ir, vi, out, opts);
  assert.match(plan.model, /^[0-9a-f]{64},[0-9a-f]{64}$/);
  assert.equal((await planVideo(ir, vi, out, { ...opts, resume: true })).model, plan.model, 'same weights: the plan resumes');
  put('weights/tesg-v2.1');
  await assert.rejects(planVideo(ir, vi, out, { ...opts, resume: true }), /^UsageError: cannot resume: the weights at .*model.tesg\.safetensors \(and the \.onnx beside them\) are not those the run in .*model-change\.mkv\.tesg-work was started with; put those back, or delete that folder to start over$/);
  // a worker (tesg worker, queue add-video) fusing a chunk of that plan refuses too, before any frame
  await assert.rejects(fuseVideoChunk(plan, 0), /^MismatchError: .*model-change\.mkv\.tesg-work.plan\.json: the weights at .*model.tesg\.safetensors \(and the \.onnx beside them\) are not those this video was started with/);
  assert.equal((await planVideo(ir, vi, p('classic.mkv'), { method: 'laplacian' })).model, '', 'classic methods have no model');
});
