import { UsageError } from '../errors.js';

/**
 * The learning-rate schedule of `tesg train`: an optional linear warm-up, then either a constant lr
 * or a cosine decay to `minLr` at `totalSteps` (Loshchilov & Hutter, SGDR, without restarts; the
 * warm-up + cosine form of e.g. Restormer / timm's CosineLRScheduler). Stored in the checkpoint so a
 * resumed run follows the same curve.
 */
export type LrScheduleKind = 'constant' | 'cosine';

export interface LrSchedule {
  kind: LrScheduleKind;
  /** Peak lr (the --lr), reached at the end of the warm-up. */
  baseLr: number;
  /** Steps of linear warm-up: step t <= warmupSteps takes baseLr * t / warmupSteps. 0: none. */
  warmupSteps: number;
  /** cosine: the lr at totalSteps (and after it). Ignored by 'constant'. */
  minLr: number;
  /** cosine: the step at which the decay reaches minLr (--schedule-steps, default the first run's --steps); 0 for constant. */
  totalSteps: number;
}

export const DEFAULT_MIN_LR = 1e-6;

/**
 * The lr of optimizer step `step` (1-based: the step about to be applied).
 *   warm-up (t <= W, W > 0):  baseLr * t / W
 *   constant:                 baseLr
 *   cosine:                   minLr + (baseLr - minLr) * (1 + cos(pi * p)) / 2,  p = clamp((t - W) / (T - W), 0, 1)
 * With kind 'constant' and no warm-up this returns baseLr itself (bit-identical to a run without a
 * schedule, e.g. tesg-v1's record).
 */
export function lrAt(s: LrSchedule, step: number): number {
  if (s.warmupSteps > 0 && step <= s.warmupSteps) return (s.baseLr * step) / s.warmupSteps;
  if (s.kind === 'constant') return s.baseLr;
  const span = s.totalSteps - s.warmupSteps;
  const p = span <= 0 ? 1 : Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
  return s.minLr + ((s.baseLr - s.minLr) * (1 + Math.cos(Math.PI * p))) / 2;
}

/** Checks a schedule's numbers; UsageError naming the flag at fault. */
export function validateSchedule(s: LrSchedule): LrSchedule {
  if (s.kind !== 'constant' && s.kind !== 'cosine') throw new UsageError(`--lr-schedule must be constant or cosine, got '${s.kind as string}'`);
  if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0) throw new UsageError(`--warmup-steps must be an integer >= 0, got ${s.warmupSteps}`);
  if (!(Number.isFinite(s.minLr) && s.minLr >= 0)) throw new UsageError(`--min-lr must be a number >= 0, got ${s.minLr}`);
  if (s.kind === 'cosine' && s.minLr > s.baseLr) throw new UsageError(`--min-lr ${s.minLr} is above --lr ${s.baseLr}: a cosine decay goes down to --min-lr`);
  if (s.kind === 'cosine' && s.warmupSteps >= s.totalSteps) {
    throw new UsageError(`--warmup-steps ${s.warmupSteps} must be below the step the cosine decay ends at (--schedule-steps, default --steps: ${s.totalSteps})`);
  }
  return s;
}

/** One line for the log, e.g. "cosine 1e-4 -> 1e-6 over steps 500..20000 (500 warm-up)". */
export function describeSchedule(s: LrSchedule): string {
  const warm = s.warmupSteps > 0 ? `, linear warm-up over ${s.warmupSteps} steps` : '';
  return s.kind === 'constant' ? `constant ${s.baseLr}${warm}` : `cosine ${s.baseLr} -> ${s.minLr} at step ${s.totalSteps}${warm}`;
}
