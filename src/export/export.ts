import { InputError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { validateModelConfig, viChannels } from '../model/config.js';
import { CONFIG_KEY, TRAIN_STATE_PREFIX } from '../model/model.js';
import { outChannels, tesgNetwork } from '../model/network.js';
import type { OnnxOpsOptions } from '../model/ops-onnx.js';
import { OnnxOps } from '../model/ops-onnx.js';
import type { NamedArray } from '../model/params.js';
import { readTensorFile } from '../model/safetensors.js';
import { SIG_KEY } from '../training/checkpoint.js';
import { writeFileAtomic } from '../util/atomic.js';
import { ONNX_CONFIG_KEY, ONNX_OUTPUT, ONNX_SIG_KEY } from './onnx-metadata.js';
import { ONNX_OPSET } from './onnx-writer.js';

/**
 * ONNX export of the TeSG network: the one definition (src/model/network.ts) run with the graph
 * builder ops (src/model/ops-onnx.ts) on symbolic inputs, with the weights as initializers.
 *
 * The exported graph (docs/onnx-export.md):
 *   inputs  ir   [batch, 1, height, width]   IR luminance, 0..1
 *           vi   [batch, 3 or 1, height, width]  VI RGB (vi_input 'rgb') or Y, 0..1
 *           mask [batch, 1, height, width]   M, 1 = key object
 *           text [batch, text_tokens, text_dim]  F_t
 *   output  fused [batch, 1 or 3, height, width]  Y (output 'y') or RGB, 0..1
 * Height and width: multiples of the config's size multiple (2^inner levels; 1 for tesg-v1): the
 * U-shape's stride-2 down-samplings need them. OnnxFuser (./onnx-fuse.ts) and the browser app pad
 * symmetrically to it and crop back, as TesgModel.predict.
 */
export { ONNX_CONFIG_KEY, ONNX_INPUTS, ONNX_OUTPUT, ONNX_SIG_KEY, readOnnxConfig, readOnnxMetadataProps } from './onnx-metadata.js';
// ./onnx-metadata.ts spells the keys out (it must not load the model and training modules): the same keys.
if (ONNX_CONFIG_KEY !== CONFIG_KEY || ONNX_SIG_KEY !== SIG_KEY) throw new Error('ONNX metadata keys differ from the weights file keys');

export interface ExportReport {
  bytes: Uint8Array;
  nodes: number;
  opset: number;
}

/**
 * The ONNX model bytes for `cfg` with these weights (tfjs-layout arrays by parameter name).
 * metadata_props: `tesg_config` (cfg as JSON) and the string pairs of `metadata` (e.g. ONNX_SIG_KEY);
 * `metadata` cannot override the config key.
 */
export function buildOnnxModel(cfg: ModelConfig, weights: ReadonlyMap<string, NamedArray>, options: OnnxOpsOptions = {}, metadata: Readonly<Record<string, string>> = {}): ExportReport {
  const ops = new OnnxOps(weights, options);
  const fused = tesgNetwork(ops, cfg, {
    ir: ops.input('ir', ['batch', 1, 'height', 'width']),
    vi: ops.input('vi', ['batch', viChannels(cfg), 'height', 'width']),
    mask: ops.input('mask', ['batch', 1, 'height', 'width']),
    text: ops.input('text', ['batch', cfg.text_tokens, cfg.text_dim]),
  });
  ops.output(fused, ONNX_OUTPUT);
  const unused = [...weights.keys()].filter((n) => !n.startsWith(TRAIN_STATE_PREFIX) && !ops.used.has(n));
  if (unused.length > 0) throw new Error(`weights the network does not use: ${unused.slice(0, 5).join(', ')}`);
  const bytes = ops.graph.toBytes(`TeSG fusion network, output ${outChannels(cfg) === 3 ? 'RGB' : 'Y'}`, {
    ...metadata,
    [ONNX_CONFIG_KEY]: JSON.stringify(cfg),
  });
  return { bytes, nodes: ops.graph.nodeCount, opset: ONNX_OPSET };
}

/**
 * Export a weights file (or checkpoint: training state is skipped) to `out`, written atomically.
 * The weights' config and, when they have one, their SIG record (`tesg_sig`) go to the ONNX file's
 * metadata_props under the same keys, so the two files describe the same model. Returns the report,
 * the config and `sig`, the SIG record copied (undefined when the weights have none).
 * Errors: InputError for a file without a tesg config or whose weights do not fit it.
 */
export async function exportWeightsFile(weightsFile: string, out: string, options: OnnxOpsOptions = {}): Promise<ExportReport & { config: ModelConfig; sig?: string }> {
  const file = await readTensorFile(weightsFile);
  const raw = file.metadata[CONFIG_KEY];
  if (!raw) throw new InputError(weightsFile, `no '${CONFIG_KEY}' in the metadata: not a tesg weights file`);
  const config = validateModelConfig(JSON.parse(raw) as Record<string, unknown>, `${weightsFile} (${CONFIG_KEY})`);
  const sig = file.metadata[SIG_KEY];
  let report: ExportReport;
  try {
    report = buildOnnxModel(config, file.tensors, options, sig ? { [ONNX_SIG_KEY]: sig } : {});
  } catch (err) {
    throw new InputError(weightsFile, `weights do not fit the config stored with them: ${(err as Error).message}`);
  }
  await writeFileAtomic(out, report.bytes);
  return sig ? { ...report, config, sig } : { ...report, config };
}
