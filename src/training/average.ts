import { InputError, UsageError } from '../errors.js';
import { CONFIG_KEY, TRAIN_STATE_PREFIX } from '../model/model.js';
import type { NamedArray } from '../model/params.js';
import { readTensorFile, type TensorFile } from '../model/safetensors.js';
import { canonicalJson } from '../util/canonical-json.js';
import { INIT_KEY, SIG_KEY } from './checkpoint.js';
import { validateModelConfig } from '../model/config.js';

/** Metadata key of an averaged weights file: its sources and their coefficients (AverageRecord). */
export const AVERAGE_KEY = 'tesg_average';

export interface AverageRecord {
  /**
   * The weights files as given, with their coefficients (summing to 1), the SIG masker each recorded
   * and where each was fine-tuned from (its tesg_init, when it has one).
   */
  sources: Array<{ weights: string; coefficient: number; sigMasker?: string; init?: unknown }>;
  /** Whose SIG record (tesg_sig) the average carries: the first source's. */
  sigFrom: string;
}

/**
 * Weight-space interpolation of models of one config: W = sum_k c_k W_k, c_k >= 0, sum c_k = 1,
 * parameter by parameter (float32). This is WiSE-FT (Wortsman et al., "Robust fine-tuning of
 * zero-shot models", CVPR 2022): a fine-tuned model mixed back with the model it was fine-tuned from
 * keeps most of the fine-tuning's gain where it was trained and loses less where the data differ
 * (for tesg: trained on MSRS, scored on RoadScene and LLVIP as well). It only makes sense for models
 * on one path of training (one fine-tuned from the other, or both from one start), whose weights are
 * linearly connected; two models trained from different seeds average into nonsense.
 *
 * Inputs: weights files or checkpoints (`tesg train` writes both; a checkpoint's optimizer state is
 * left out). The result carries the first file's config and SIG record (tesg_sig: a model runs the
 * SIG it records, so put the model whose SIG the average should run first) and an AVERAGE_KEY record.
 * Coefficients that sum to 1 within MIX_SUM_TOLERANCE are scaled to sum to 1 exactly; the sum is
 * accumulated in float64 and rounded to float32 once. Errors: UsageError for bad coefficients;
 * InputError naming the file whose config, tensor names or shapes differ from the first's, or that is
 * not a tesg weights file.
 */
export async function averageWeights(files: readonly string[], mix: readonly number[]): Promise<TensorFile> {
  const coefficients = checkCoefficients(files, mix);
  const inputs: TensorFile[] = [];
  for (const f of files) inputs.push(await readTensorFile(f));
  const json = (k: number, key: string): unknown => {
    const raw = inputs[k].metadata[key];
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      throw new InputError(files[k], `its '${key}' metadata is not JSON: a damaged weights file (use the original)`);
    }
  };
  const config = inputs.map((_, k) => {
    const raw = json(k, CONFIG_KEY);
    if (raw === undefined) throw new InputError(files[k], `no '${CONFIG_KEY}' in the metadata: not a tesg weights file (give a tesg.safetensors or checkpoint.safetensors)`);
    // compared with every default filled in, so a key written out and the same key left to its default agree
    return canonicalJson(validateModelConfig(raw as Record<string, unknown>, `${files[k]} (${CONFIG_KEY})`));
  });
  const params = (t: TensorFile) => [...t.tensors.keys()].filter((n) => !n.startsWith(TRAIN_STATE_PREFIX)).sort();
  const names = params(inputs[0]);
  for (let k = 1; k < inputs.length; k++) {
    if (config[k] !== config[0]) throw new InputError(files[k], `its model config differs from ${files[0]}'s; only models of one config can be averaged`);
    const other = params(inputs[k]);
    const missing = names.find((n) => !inputs[k].tensors.has(n)) ?? other.find((n) => !inputs[0].tensors.has(n));
    if (missing) throw new InputError(files[k], `tensor '${missing}' is in one of ${files[0]} and this file but not the other`);
  }
  const tensors = new Map<string, NamedArray>();
  for (const name of names) {
    const first = inputs[0].tensors.get(name)!;
    const sum = new Float64Array(first.data.length); // rounded to float32 once, at the end
    for (const [k, t] of inputs.entries()) {
      const x = t.tensors.get(name)!;
      if (x.data.length !== sum.length || x.shape.join('x') !== first.shape.join('x')) {
        throw new InputError(files[k], `tensor '${name}' has shape [${x.shape}], ${files[0]} has [${first.shape}]`);
      }
      const c = coefficients[k];
      for (let i = 0; i < sum.length; i++) sum[i] += c * x.data[i];
    }
    tensors.set(name, { shape: [...first.shape], data: Float32Array.from(sum) });
  }
  const record: AverageRecord = {
    sources: files.map((weights, k) => ({
      weights,
      coefficient: coefficients[k],
      sigMasker: (json(k, SIG_KEY) as { header?: { masker?: string } } | undefined)?.header?.masker,
      init: json(k, INIT_KEY),
    })),
    sigFrom: files[0],
  };
  const metadata: Record<string, string> = { [CONFIG_KEY]: inputs[0].metadata[CONFIG_KEY], [AVERAGE_KEY]: JSON.stringify(record) };
  if (inputs[0].metadata[SIG_KEY]) metadata[SIG_KEY] = inputs[0].metadata[SIG_KEY];
  return { tensors, metadata };
}

/** How far from 1 the coefficients may sum (e.g. 0.333,0.333,0.333); they are then scaled to sum to 1. */
export const MIX_SUM_TOLERANCE = 1e-3;

/** The coefficients scaled to sum to exactly 1. UsageError for a bad count, a value < 0 or not a number, or a sum off by more than the tolerance. */
function checkCoefficients(files: readonly string[], c: readonly number[]): number[] {
  if (files.length < 2) throw new UsageError('give at least two weights files to average');
  if (c.length !== files.length) throw new UsageError(`--mix has ${c.length} coefficient(s) for ${files.length} weights files: give one per file`);
  if (c.some((x) => !Number.isFinite(x) || x < 0)) throw new UsageError(`--mix coefficients must be numbers >= 0`);
  const sum = c.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > MIX_SUM_TOLERANCE) throw new UsageError(`--mix coefficients must sum to 1 (within ${MIX_SUM_TOLERANCE}), these sum to ${+sum.toFixed(6)}`);
  return c.map((x) => x / sum);
}
