/**
 * Cold start of `tesg fuse IR VI -o OUT` (README's first command) for `tesg bench`: whole-process
 * runs, each a fresh `node` with TESG_STARTUP_TRACE set, so the child writes its phase marks
 * (src/util/startup-trace.ts) at exit. Reports the median wall time per run and, per phase, the
 * median wall and CPU milliseconds. CPU is process-wide (every thread: the onnxruntime worker that
 * loads the session during the SIG counts in the SIG's phase), and it is what a phase costs when
 * other processes stretch the wall clock on a shared machine.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STARTUP_TRACE_ENV, type PhaseMark } from '../util/startup-trace.js';
import { median } from '../util/median.js';

const OWN_EXT = path.extname(fileURLToPath(import.meta.url)); // .js in dist, .ts under tsx
/** The CLI entry of this build: dist/cli/main.js, or src/cli/main.ts under tsx. */
const CLI_MAIN = fileURLToPath(new URL(`../cli/main${OWN_EXT}`, import.meta.url));

/** What each mark ends, in words (marks are set in main.ts, fuse.ts, tesg-method.ts, detector.ts). */
export const PHASE_LABELS: Record<string, string> = {
  'cli-ready': 'node start, CLI modules (commander, sharp, fuse)',
  'images-read': 'read IR and VI',
  'sig-modules': 'import the SIG modules',
  'tfjs-backend': 'tfjs wasm backend (no gradients; TESG_DETECTOR=tfjs)',
  'detector-loaded': 'detector: onnxruntime session of the converted CenterNet (TESG_DETECTOR=tfjs: the tfjs graph)',
  sig: 'SIG: 2 detections (first runs), masks, F_t',
  'network-loaded': 'wait for the ONNX session (loads on a worker during the SIG)',
  'network-run': 'network on onnxruntime',
  fused: 'gray/colour output',
  written: 'write OUT',
  exit: 'until exit',
};

export interface ColdStartOptions {
  /** [ir, vi] files to fuse. */
  pair: [string, string];
  /** Whole-process runs (default 5). */
  runs?: number;
  /** Extra `tesg fuse` arguments (e.g. ['--threads', '1']). */
  args?: string[];
}

export interface ColdPhase {
  name: string;
  label: string;
  /** Median over runs of this phase's wall ms (from the previous mark). */
  wallMs: number;
  /** Median over runs of this phase's process CPU ms (all threads). */
  cpuMs: number;
}

export interface ColdStartResult {
  runs: number;
  /** Per run: wall ms from spawn to exit. */
  wallMs: number[];
  medianWallMs: number;
  /** Per run: process CPU ms until its exit mark. */
  cpuMs: number[];
  medianCpuMs: number;
  phases: ColdPhase[];
  loadavg: { start: number; end: number };
  command: string;
}


function runOnce(argv: string[], traceFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { env: { ...process.env, [STARTUP_TRACE_ENV]: traceFile }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve(ms);
      else reject(new Error(`cold-start run failed (exit ${code}): ${stderr.trim().split('\n').at(-1)}`));
    });
  });
}

export async function runColdStartBench(o: ColdStartOptions): Promise<ColdStartResult> {
  const runs = o.runs ?? 5;
  const dir = mkdtempSync(path.join(tmpdir(), 'tesg-cold-'));
  const execArgv = OWN_EXT === '.ts' ? process.execArgv : [];
  const fuseArgs = ['fuse', o.pair[0], o.pair[1], '-o', path.join(dir, 'fused.png'), ...(o.args ?? [])];
  const start = loadavg()[0];
  const traces: PhaseMark[][] = [];
  const wallMs: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const trace = path.join(dir, `trace-${i}.json`);
      wallMs.push(await runOnce([...execArgv, CLI_MAIN, ...fuseArgs], trace));
      traces.push(JSON.parse(readFileSync(trace, 'utf8')) as PhaseMark[]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const names = traces[0].map((m) => m.name);
  const phases = names.map((name): ColdPhase => {
    const deltas = traces.map((t) => {
      const i = t.findIndex((m) => m.name === name);
      const prev = i > 0 ? t[i - 1] : { ms: 0, cpuMs: 0 };
      return i < 0 ? { wall: 0, cpu: 0 } : { wall: t[i].ms - prev.ms, cpu: t[i].cpuMs - prev.cpuMs };
    });
    return { name, label: PHASE_LABELS[name] ?? name, wallMs: median(deltas.map((d) => d.wall)), cpuMs: median(deltas.map((d) => d.cpu)) };
  });
  // Outside the marks: spawning node before its clock starts, and tearing the process down.
  phases.push({ name: 'spawn-teardown', label: 'process spawn and teardown', wallMs: median(traces.map((t, i) => wallMs[i] - (t.at(-1)?.ms ?? 0))), cpuMs: NaN });
  const cpuMs = traces.map((t) => t.at(-1)?.cpuMs ?? 0);
  return {
    runs,
    wallMs,
    medianWallMs: median(wallMs),
    cpuMs,
    medianCpuMs: median(cpuMs),
    phases,
    loadavg: { start, end: loadavg()[0] },
    command: ['node', ...execArgv, path.relative(process.cwd(), CLI_MAIN), ...fuseArgs.slice(0, 3), '-o', 'OUT', ...(o.args ?? [])].join(' '),
  };
}

/** The result as an aligned text table (phases in time order, medians). */
export function formatColdStart(r: ColdStartResult): string {
  const lines = [
    `cold start: ${r.command}`,
    `  whole process, median of ${r.runs}: ${(r.medianWallMs / 1000).toFixed(2)} s (runs: ${r.wallMs.map((x) => (x / 1000).toFixed(2)).join(', ')}); ` +
      `CPU ${(r.medianCpuMs / 1000).toFixed(2)} s; load average ${r.loadavg.start.toFixed(2)} -> ${r.loadavg.end.toFixed(2)}`,
  ];
  const width = Math.max(...r.phases.map((p) => p.label.length));
  const cpu = (ms: number) => (Number.isNaN(ms) ? '' : `  ${ms.toFixed(0).padStart(6)} ms CPU`);
  for (const p of r.phases) lines.push(`  ${p.label.padEnd(width)}  ${p.wallMs.toFixed(0).padStart(6)} ms wall${cpu(p.cpuMs)}`);
  return lines.join('\n') + '\n';
}
