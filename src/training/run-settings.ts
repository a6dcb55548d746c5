import type { TrainState } from './checkpoint.js';
import type { LrSchedule } from './schedule.js';
import { DEFAULT_MIN_LR, validateSchedule } from './schedule.js';
import type { TrainOptions } from './trainer.js';

/**
 * The run settings a checkpoint carries beyond the model and optimizer: the lr schedule, the
 * gradient-clipping threshold and the SIG the data came from. A new run takes them from its options;
 * a resumed run from its checkpoint (the options only re-target the schedule or note a new SIG).
 */

/** The settings of a new run from its options (validated: UsageError naming the flag). */
export function newRunSettings(opts: TrainOptions): Pick<TrainState, 'schedule' | 'clipGradNorm' | 'sig'> {
  const schedule: LrSchedule = validateSchedule({
    kind: opts.schedule?.kind ?? 'constant',
    baseLr: opts.lr,
    warmupSteps: opts.schedule?.warmupSteps ?? 0,
    minLr: opts.schedule?.minLr ?? DEFAULT_MIN_LR,
    totalSteps: opts.schedule?.kind === 'cosine' ? (opts.scheduleSteps ?? opts.steps) : 0,
  });
  return { schedule, clipGradNorm: opts.clipGradNorm ?? 0, ...(opts.sig ? { sig: { header: opts.sig } } : {}) };
}

/**
 * The settings a resumed run takes from its checkpoint: the lr schedule (one from before schedules
 * existed is constant at its lr), clipping, and the SIG record (a different SIG cache now is noted
 * in `previous`). `--steps` past the stored cosine end is kept at min-lr unless `scheduleSteps` re-targets it.
 */
export function resumedSettings(state: TrainState, opts: TrainOptions, log: (l: string) => void): TrainState {
  let schedule: LrSchedule = state.schedule ?? { kind: 'constant', baseLr: state.adam.opts.lr, warmupSteps: 0, minLr: DEFAULT_MIN_LR, totalSteps: 0 };
  if (schedule.kind === 'cosine') {
    if (opts.scheduleSteps !== undefined && opts.scheduleSteps !== schedule.totalSteps) {
      log(`lr schedule: the cosine decay now ends at step ${opts.scheduleSteps} instead of ${schedule.totalSteps} (--schedule-steps)`);
      schedule = validateSchedule({ ...schedule, totalSteps: opts.scheduleSteps });
    } else if (opts.steps > schedule.totalSteps) {
      log(`lr schedule: the stored cosine decay ends at step ${schedule.totalSteps}; steps after it run at --min-lr ${schedule.minLr} (pass --schedule-steps ${opts.steps} to stretch it)`);
    }
  }
  let sig = state.sig;
  if (opts.sig && (!sig || JSON.stringify(sig.header) !== JSON.stringify(opts.sig))) {
    if (sig) log(`SIG: the checkpoint trained on ${sigLabel(sig.header)} up to step ${state.step}; continuing on ${sigLabel(opts.sig)}`);
    sig = { header: opts.sig, previous: sig ? [...(sig.previous ?? []), { header: sig.header, untilStep: state.step }] : undefined };
    if (!sig.previous) delete sig.previous;
  }
  return { ...state, schedule, clipGradNorm: state.clipGradNorm ?? 0, ...(sig ? { sig } : {}) };
}

/** "captioner X, masker Y, text encoder Z" from a SIG cache header (sig.json). */
export function sigLabel(h: Record<string, unknown>): string {
  const parts = [['captioner', h.captioner], ['masker', h.masker], ['text encoder', h.textEncoderId]].filter(([, v]) => v !== undefined);
  return parts.map(([k, v]) => `${k} ${String(v)}`).join(', ') || JSON.stringify(h);
}
