import type { Command } from 'commander';
import { TesgError, UsageError } from '../../errors.js';
import { DEFAULT_WEIGHTS_FILE, onnxBeside, trainedSigVersion } from '../../fusion/tesg-method.js';
import { checkOutputPath } from '../../util/output-path.js';

/**
 * `tesg export --weights FILE --out model.onnx`: the network as an ONNX graph (src/export/), with the
 * weights' config and SIG record in its metadata, then a parity check of the written file against the
 * tfjs model on a small random input.
 */
interface ExportCliOptions {
  weights: string;
  out?: string;
  check: boolean;
}

/** Largest tolerated |ONNX - tfjs| on 0..1 outputs (the parity tests' bound). */
const PARITY_TOLERANCE = 1e-4;

async function runExport(o: ExportCliOptions): Promise<void> {
  const out = o.out ?? onnxBeside(o.weights);
  // only a given -o: the default is the weights' own path with .onnx. A folder is named as one first.
  if (o.out !== undefined) checkOutputPath(o.out, 'file', '-o takes the .onnx model\'s file name, e.g. -o model.onnx');
  if (!out.toLowerCase().endsWith('.onnx')) throw new UsageError(`--out ${out}: name the model file .onnx`);
  const { exportWeightsFile } = await import('../../export/export.js');
  const t0 = performance.now();
  const report = await exportWeightsFile(o.weights, out);
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  process.stdout.write(`wrote ${out} (opset ${report.opset}, ${report.nodes} nodes, ${(report.bytes.length / 1024).toFixed(0)} KiB, ${secs} s)\n`);
  const sig = await trainedSigVersion(o.weights);
  process.stdout.write(report.sig ? `SIG ${sig} for this model (the weights' tesg_sig record, copied into the ONNX metadata)\n` : `SIG ${sig} for this model (the weights record no SIG: made before tesg_sig existed)\n`);
  if (!o.check) return;
  const { initBackend } = await import('../../runtime/backend.js');
  await initBackend('cpu');
  const { exportParity } = await import('../../export/verify.js');
  const diff = await exportParity(o.weights, out);
  if (!(diff < PARITY_TOLERANCE)) {
    throw new TesgError(`${out}: the exported model differs from the tfjs model by ${diff} (max abs, tolerance ${PARITY_TOLERANCE}); please report this`);
  }
  process.stdout.write(`checked: max |onnx - tfjs| = ${diff.toExponential(2)} on a 32x24 random input\n`);
}

export function register(program: Command): void {
  program
    .command('export')
    .description('export the TeSG network with its weights to ONNX (for `tesg fuse --backend onnx`)')
    .option('--weights <file>', 'weights or checkpoint (.safetensors)', DEFAULT_WEIGHTS_FILE)
    .option('-o, --out <file>', 'the ONNX model to write (default: the weights path with .onnx)')
    .option('--no-check', 'skip the parity check of the written model against tfjs')
    .action(async (opts: ExportCliOptions) => runExport(opts));
}
