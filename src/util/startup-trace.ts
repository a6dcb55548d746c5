/**
 * Where a CLI process's start-up time goes, for `tesg bench` (cold start). Code marks the end of each
 * phase with `markPhase('sig')`, a User Timing mark (Node's built-in `performance.mark`: about a
 * microsecond, nothing to load). When the environment variable TESG_STARTUP_TRACE names a file, the
 * CLI writes the marks there as the process exits: JSON `[{ "name": "sig", "ms": 1234.5, "cpuMs": 1100.2 }, ...]`,
 * ms since the process started (`performance.now()`'s origin), in time order. cpuMs is the process's
 * CPU time (user + system, all threads) so far: on a shared machine it shows what a phase costs
 * when the wall clock is stretched by other processes.
 */
import { writeFileSync } from 'node:fs';

export const STARTUP_TRACE_ENV = 'TESG_STARTUP_TRACE';
const PREFIX = 'tesg:';

export interface PhaseMark {
  name: string;
  /** Milliseconds since the process started. */
  ms: number;
  /** CPU milliseconds (user + system, every thread) the process had used by then. */
  cpuMs: number;
}

/** Mark that the phase `name` just ended (e.g. 'cli-ready', 'images-read', 'onnx-session'). */
export function markPhase(name: string): void {
  const cpu = process.cpuUsage();
  performance.mark(PREFIX + name, { detail: (cpu.user + cpu.system) / 1000 });
}

/** The marks made so far, in time order. */
export function phaseMarks(): PhaseMark[] {
  return performance
    .getEntriesByType('mark')
    .filter((e) => e.name.startsWith(PREFIX))
    .map((e) => ({ name: e.name.slice(PREFIX.length), ms: e.startTime, cpuMs: Number((e as PerformanceMark).detail) }))
    .sort((a, b) => a.ms - b.ms);
}

/** When TESG_STARTUP_TRACE is set, write the marks (plus 'exit') to that file as the process exits. */
export function traceStartupOnExit(): void {
  const file = process.env[STARTUP_TRACE_ENV];
  if (!file) return;
  process.on('exit', () => {
    markPhase('exit');
    // Synchronous: nothing asynchronous runs in an exit handler. A bench artefact, so no atomic rename.
    writeFileSync(file, JSON.stringify(phaseMarks()));
  });
}
