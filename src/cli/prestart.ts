/**
 * What `tesg fuse` will need, started from the raw arguments before the command's modules load (see
 * src/runtime/onnx-prestart.ts for why). Only the unambiguous case: `fuse` with the tesg method (given,
 * or the default because the default weights exist), the ONNX backend (the .onnx beside the weights
 * exists, no --backend tfjs), no --help, and both inputs there when they come first. Anything else
 * starts nothing, and a guess that turns out unused costs one idle worker thread, never a different
 * result: the session is the one OnnxFuser would load, with the same file and options.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { defaultFuseMethod, DEFAULT_WEIGHTS_FILE, onnxBeside } from '../fusion/tesg-method.js';
import { prestartOnnxSession } from '../runtime/onnx-prestart.js';

/** The value of option `names` in argv (`--x v` or `--x=v`), else undefined. */
function option(argv: readonly string[], ...names: string[]): string | undefined {
  for (let i = 3; i < argv.length; i++) {
    for (const n of names) {
      if (argv[i] === n && i + 1 < argv.length) return argv[i + 1];
      if (argv[i].startsWith(`${n}=`)) return argv[i].slice(n.length + 1);
    }
  }
  return undefined;
}

export function prestartFromArgv(argv: readonly string[]): void {
  if (argv[2] !== 'fuse' || argv.includes('--help') || argv.includes('-h')) return;
  // `tesg fuse IR VI ...` with an input that is not there fails at once: a session loading then would
  // only delay that error by its load (the error exit waits for it; src/runtime/onnx-thread.ts).
  const [ir, vi] = argv.slice(3, 5);
  if (ir !== undefined && vi !== undefined && !ir.startsWith('-') && !vi.startsWith('-') && !(existsSync(ir) && existsSync(vi))) return;
  const dirs = [option(argv, '--ir'), option(argv, '--vi')].filter((d): d is string => d !== undefined);
  if (dirs.some((d) => !existsSync(d))) return; // likewise a missing input folder
  const weights = option(argv, '--weights') ?? DEFAULT_WEIGHTS_FILE;
  // the method as `tesg fuse` picks it
  if ((option(argv, '--method', '-m') ?? defaultFuseMethod()) !== 'tesg') return;
  const backend = option(argv, '--backend');
  if (backend !== undefined && backend !== 'onnx') return;
  const onnx = onnxBeside(weights);
  if (!/\.safetensors$/i.test(weights) || !existsSync(onnx)) return;
  const t = option(argv, '--threads');
  const threads = t === undefined ? availableParallelism() : Number(t);
  if (!Number.isInteger(threads) || threads < 1) return;
  prestartOnnxSession(onnx, { threads, spinning: false });
}
