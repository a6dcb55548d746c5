/**
 * The noise schedule of a diffusers scheduler_config.json and the forward (noising) step
 * x_t = sqrt(alphabar_t) x_0 + sqrt(1 - alphabar_t) eps (DDPM/DDIM's q(x_t | x_0)).
 * Betas as diffusers builds them: "linear", "scaled_linear" (SD: linspace of sqrt(beta) squared),
 * "squaredcos_cap_v2" (cosine, capped at 0.999), or trained_betas. Computed in float64; diffusers
 * uses float32, a relative difference of about 1e-6.
 */
import { InputError } from '../../errors.js';
import { readJsonFile } from '../tokenizers/special-tokens.js';

export interface NoiseSchedule {
  betaStart: number;
  betaEnd: number;
  betaSchedule: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
  numTrainTimesteps: number;
  trainedBetas?: number[];
}

/** Stable Diffusion 1.x's values, used for keys a config leaves out. */
export const SD_SCHEDULE: NoiseSchedule = { betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'scaled_linear', numTrainTimesteps: 1000 };

export function readSchedulerConfig(file: string): NoiseSchedule {
  const cfg = readJsonFile(file) as Record<string, unknown>;
  const num = (key: string, fallback: number) => {
    const v = cfg[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(file, `${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const schedule = (cfg.beta_schedule ?? SD_SCHEDULE.betaSchedule) as string;
  if (!['linear', 'scaled_linear', 'squaredcos_cap_v2'].includes(schedule)) {
    throw new InputError(file, `beta_schedule "${schedule}" is not supported (linear, scaled_linear, squaredcos_cap_v2)`);
  }
  const out: NoiseSchedule = {
    betaStart: num('beta_start', SD_SCHEDULE.betaStart),
    betaEnd: num('beta_end', SD_SCHEDULE.betaEnd),
    betaSchedule: schedule as NoiseSchedule['betaSchedule'],
    numTrainTimesteps: num('num_train_timesteps', SD_SCHEDULE.numTrainTimesteps),
  };
  if (!Number.isInteger(out.numTrainTimesteps) || out.numTrainTimesteps < 1) throw new InputError(file, `num_train_timesteps must be a positive integer`);
  if (Array.isArray(cfg.trained_betas)) out.trainedBetas = cfg.trained_betas as number[];
  return out;
}

export function betas(s: NoiseSchedule): Float64Array {
  const n = s.numTrainTimesteps;
  if (s.trainedBetas) return Float64Array.from(s.trainedBetas);
  const out = new Float64Array(n);
  if (s.betaSchedule === 'squaredcos_cap_v2') {
    const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (let i = 0; i < n; i++) out[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999);
    return out;
  }
  const [lo, hi] = s.betaSchedule === 'scaled_linear' ? [Math.sqrt(s.betaStart), Math.sqrt(s.betaEnd)] : [s.betaStart, s.betaEnd];
  for (let i = 0; i < n; i++) {
    const v = n === 1 ? lo : lo + ((hi - lo) * i) / (n - 1);
    out[i] = s.betaSchedule === 'scaled_linear' ? v * v : v;
  }
  return out;
}

/** alphabar_t = prod_{i <= t} (1 - beta_i), t = 0 .. N-1. */
export function alphasCumprod(s: NoiseSchedule): Float64Array {
  const b = betas(s);
  const out = new Float64Array(b.length);
  let p = 1;
  for (let i = 0; i < b.length; i++) out[i] = p *= 1 - b[i];
  return out;
}

/** The training timestep that strength s in [0, 1] reaches: round(s * N), clipped to 0 .. N-1. */
export function timestepForStrength(strength: number, numTrainTimesteps: number): number {
  if (!(strength >= 0 && strength <= 1)) throw new RangeError(`strength must be in [0, 1], got ${strength}`);
  return Math.min(numTrainTimesteps - 1, Math.max(0, Math.round(strength * numTrainTimesteps)));
}

/** x_t = sqrt(alphabar) x0 + sqrt(1 - alphabar) eps, elementwise. */
export function addNoise(x0: Float32Array, eps: Float32Array, alphaBar: number): Float32Array {
  if (x0.length !== eps.length) throw new Error('addNoise: x0 and eps differ in length');
  const a = Math.sqrt(alphaBar);
  const b = Math.sqrt(1 - alphaBar);
  const out = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) out[i] = a * x0[i] + b * eps[i];
  return out;
}
