/**
 * A kill in the middle of a checkpoint write (issue 13, item 6): a real `tesg train` child process
 * is frozen (SIGSTOP) the moment the temp file of an atomic checkpoint write appears; if the write is
 * still under way (the temp file not yet renamed over checkpoint.safetensors) it gets SIGKILL, else
 * it is resumed and the next checkpoint is tried. Then the previous checkpoint must load, `--resume`
 * must continue (removing the dead run's temp file), and the finished weights must equal those of an
 * uninterrupted run bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/runtime/backend.js';
import { CHECKPOINT_FILE, loadCheckpoint, WEIGHTS_FILE } from '../src/training/checkpoint.js';
import { listTrainingPairs, loadSample } from '../src/training/data.js';
import { sigCacheSource } from '../src/training/sig-source.js';
import { readHeader } from '../src/semantics/cache.js';
import { DEFAULT_TRAIN_OPTIONS, train } from '../src/training/trainer.js';
import { writeTrainFolder } from './helpers/train-folder.js';

await initBackend('wasm');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STEPS = 12;
// dim 48: a 2 MB checkpoint, so its write lasts long enough to be caught; 1 block each: cheap steps
const MODEL = { dim: 48, heads: 2, enc_blocks: 1, dec_blocks: 1 };
const TEMP = /^\.checkpoint\.safetensors\.\d+\.\d+\.tmp$/;

function cli(args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Caught {
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
  /** The temp file's name and size when the child was killed. */
  temp: { name: string; bytes: number } | null;
  tries: number;
}

/** Runs `args`, killing the child during the first checkpoint write (after the first) it is caught in. */
function killDuringCheckpointWrite(args: string[], outDir: string): Promise<Caught> {
  return new Promise((resolve) => {
    const child = cli(args);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    let temp: Caught['temp'] = null;
    let tries = 0;
    const watcher = watch(outDir, (_event, name) => {
      if (temp || !name || !TEMP.test(name) || !existsSync(path.join(outDir, CHECKPOINT_FILE))) return;
      child.kill('SIGSTOP');
      tries++;
      const file = path.join(outDir, name);
      if (existsSync(file)) {
        temp = { name, bytes: statSync(file).size };
        child.kill('SIGKILL');
      } else {
        child.kill('SIGCONT'); // renamed already: try the next checkpoint
      }
    });
    child.on('exit', (code, signal) => {
      watcher.close();
      resolve({ code, signal, stderr, temp, tries });
    });
  });
}

test('SIGKILL during a checkpoint write: the previous checkpoint loads, --resume finishes, the weights equal an uninterrupted run', async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tesg-kill-'));
  try {
    const f = await writeTrainFolder(root, 3, 40, 36);
    writeFileSync(f.config, JSON.stringify(MODEL));
    const out = path.join(root, 'run');
    mkdirSync(out);
    const args = ['train', '--data', f.data, '--sig', f.sig, '--out', out, '--config', f.config, '--backend', 'wasm',
      '--batch', '1', '--crop', '16', '--checkpoint-every', '1', '--lr-schedule', 'cosine', '--warmup-steps', '2', '--steps', String(STEPS)];
    const killed = await killDuringCheckpointWrite(args, out);
    assert.equal(killed.signal, 'SIGKILL', `the run was never caught inside a checkpoint write (${killed.tries} tries; exit ${killed.code}): ${killed.stderr}`);
    t.diagnostic(`killed on checkpoint write ${killed.tries} (after the first), temp file at ${killed.temp!.bytes} bytes`);
    assert.ok(killed.temp && existsSync(path.join(out, killed.temp.name)), 'the temp file of the interrupted write is still there');

    // the log has the row of the step whose checkpoint was being written; the checkpoint is the one before
    const logged = readFileSync(path.join(out, 'train-log.csv'), 'utf8').trim().split('\n').length - 1;
    const previous = await loadCheckpoint(out);
    assert.equal(previous.state.step, logged - 1, `checkpoint at step ${previous.state.step}, log at ${logged}`);
    assert.ok(previous.state.step >= 1 && previous.state.step < STEPS);
    previous.model.dispose();
    previous.adam.dispose();

    const resumed = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = cli([...args, '--resume']);
      let stderr = '';
      c.stderr.on('data', (d) => (stderr += String(d)));
      c.on('exit', (code) => resolve({ code, stderr }));
    });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`removed \\${killed.temp!.name}`));
    assert.deepEqual(readdirSync(out).filter((n) => n.endsWith('.tmp')), []);
    const steps = readFileSync(path.join(out, 'train-log.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
    assert.deepEqual(steps, Array.from({ length: STEPS }, (_, i) => i + 1));

    // the same run without a kill, in this process (same wasm backend, same defaults as the CLI)
    const straight = path.join(root, 'straight');
    const sig = sigCacheSource(f.sig);
    await train(
      {
        ...DEFAULT_TRAIN_OPTIONS, outDir: straight, steps: STEPS, checkpointEvery: STEPS, batch: 1, crop: 16, model: MODEL, resume: false,
        schedule: { kind: 'cosine', warmupSteps: 2 }, sig: { ...(await readHeader(f.sig)) }, tty: false, write: () => {},
      },
      { pairs: await listTrainingPairs(f.data), load: (p) => loadSample(p, sig) },
    );
    assert.ok(readFileSync(path.join(out, WEIGHTS_FILE)).equals(readFileSync(path.join(straight, WEIGHTS_FILE))), 'killed + resumed weights differ from the uninterrupted run');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
