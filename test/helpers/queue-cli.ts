/**
 * For the queue tests and benchmark: the real `tesg` CLI as child processes (one-shot commands and
 * long-running workers whose output is collected and which can be signalled), and test pairs copied
 * into a temp folder (MSRS test pairs from ../shared when present, else variants of samples/msrs).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MSRS_TEST = path.resolve(ROOT, '..', 'shared', 'data', 'msrs', 'test');
const CLI = ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts')];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `tesg ARGS` to completion. */
export function tesg(args: string[], opts: { nice?: boolean } = {}): Promise<CliResult> {
  const [cmd, argv] = opts.nice ? ['nice', ['-n', '10', process.execPath, ...CLI, ...args]] : [process.execPath, [...CLI, ...args]];
  return new Promise((resolve) => {
    execFile(cmd, argv, { cwd: ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

export interface WorkerProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code, or the signal name when killed. */
  exited: Promise<number | string>;
  /** Resolves once the worker printed its start line (connected, taking jobs). */
  ready: Promise<void>;
  /** Stems the worker printed as fused. */
  fused(): string[];
}

/** Start `tesg worker ARGS` in the background. */
export function startWorkerProcess(args: string[], opts: { nice?: boolean } = {}): WorkerProcess {
  const argv = [...CLI, 'worker', ...args];
  const child = opts.nice ? spawn('nice', ['-n', '10', process.execPath, ...argv], { cwd: ROOT }) : spawn(process.execPath, argv, { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => (markReady = r));
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (/tesg worker .*: queue '/.test(stderr)) markReady();
  });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  void exited.then(() => markReady());
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    ready,
    fused: () => [...stdout.matchAll(/^fused (\S+) -> /gm)].map((m) => m[1]),
  };
}

/** Poll `check` every 100 ms until it returns a value other than undefined; fail after `ms`. */
export async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * n IR/VI pairs in dir/ir and dir/vi: the first n MSRS test pairs when ../shared is there, else
 * variants (flips, crops) of the two bundled samples/msrs pairs. Returns the stems.
 */
export async function makePairs(dir: string, n: number): Promise<string[]> {
  for (const m of ['ir', 'vi']) mkdirSync(path.join(dir, m), { recursive: true });
  if (existsSync(path.join(MSRS_TEST, 'ir'))) {
    const stems = readdirSync(path.join(MSRS_TEST, 'ir')).filter((f) => f.endsWith('.png')).sort().slice(0, n).map((f) => f.slice(0, -4));
    for (const s of stems) for (const m of ['ir', 'vi']) copyFileSync(path.join(MSRS_TEST, m, `${s}.png`), path.join(dir, m, `${s}.png`));
    return stems;
  }
  const samples = ['00537D', '01102N'];
  const stems: string[] = [];
  for (let i = 0; i < n; i++) {
    const src = samples[i % 2];
    const stem = `${src}_v${i}`;
    for (const m of ['ir', 'vi']) {
      let img = sharp(path.join(ROOT, 'samples', 'msrs', m, `${src}.png`));
      if (i & 2) img = img.flop();
      if (i & 4) img = img.flip();
      if (i >= 8) img = img.extract({ left: i, top: i, width: 600, height: 440 });
      await img.png().toFile(path.join(dir, m, `${stem}.png`));
    }
    stems.push(stem);
  }
  return stems;
}
