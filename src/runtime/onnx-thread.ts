/**
 * An ONNX model that lives on a worker thread: `OnnxModel` (./onnx.ts) run by ./onnx-worker.ts,
 * behind the same surface (inputs, outputs, requireInputs, run, release). Why: onnxruntime-node
 * creates a session synchronously on the calling thread (graph optimisation: 0.2-0.4 s CPU for the
 * fusion network), so on the main thread it cannot overlap anything. On a worker it loads while the
 * main thread runs the SIG (its detector has its own, smaller session): a cold `tesg fuse` on 2 cores saves that time.
 * Feeds and outputs are copied through messages (a 640x480 pair: about 10 MB, a few ms; the network
 * takes over a second). The worker never keeps the process alive on its own (unref'd while idle).
 *
 * The worker file is ./onnx-worker.js in dist and ./onnx-worker.ts under tsx (tests, dev), as in
 * src/eval/pool.ts: a worker does not inherit tsx's loader hooks, so under tsx it starts from a
 * bootstrap that registers them first.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError } from '../errors.js';
import type { Feed, OnnxModelOptions, Tensor } from './onnx.js';
import { OnnxInputs, type ValueInfo } from './onnx-inputs.js';

const OWN_EXT = path.extname(fileURLToPath(import.meta.url));
const WORKER_URL = new URL(`./onnx-worker${OWN_EXT}`, import.meta.url);

/** What goes to the worker. */
export type OnnxRequest =
  | { id: number; op: 'load'; file: string; options: OnnxModelOptions }
  | { id: number; op: 'run'; feeds: Record<string, Feed>; outputNames?: string[] }
  | { id: number; op: 'release' };

/** What comes back: a value, or an error as data (name, message, and the file of an InputError). */
export type OnnxReply = { id: number; value?: unknown; error?: { name: string; message: string; file?: string } };

/** Session loads in flight (OnnxThreadModel.load), for onnxLoadsSettled. */
const loading = new Set<Promise<unknown>>();

/**
 * Resolves once no worker is creating a session. `process.exit` while onnxruntime-node creates one on
 * a worker aborts the whole process (the binding's error cannot propagate during teardown:
 * std::terminate, exit 134), so a command that exits early on an error (src/cli/run.ts) waits for this
 * first: at most one session load, ~0.3 s.
 */
export async function onnxLoadsSettled(): Promise<void> {
  while (loading.size > 0) await Promise.allSettled([...loading]);
}

function startWorker(): Worker {
  if (OWN_EXT !== '.ts') return new Worker(WORKER_URL);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(WORKER_URL.href)}));`;
  return new Worker(bootstrap, { eval: true });
}

function rebuildError(e: NonNullable<OnnxReply['error']>): Error {
  // InputError's message is "<file>: <detail>"; keep its type so the CLI prints one line.
  if (e.name === 'InputError' && e.file !== undefined) return new InputError(e.file, e.message.slice(e.file.length + 2));
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/** input / hasInput / requireInputs come from OnnxInputs (./onnx-inputs.ts), as in OnnxModel. */
export class OnnxThreadModel extends OnnxInputs {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure?: Error;
  inputs: ValueInfo[] = [];
  outputs: ValueInfo[] = [];

  private constructor(
    readonly file: string,
    private readonly worker: Worker,
  ) {
    super();
    worker.unref();
    worker.on('message', (reply: OnnxReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.error) p.reject(rebuildError(reply.error));
      else p.resolve(reply.value);
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`onnxruntime worker failed (${WORKER_URL.pathname}): ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`onnxruntime worker exited (code ${code})`)));
  }

  /** Load `file` on a new worker thread; errors as OnnxModel.load (an InputError naming the file). */
  static async load(file: string, options: OnnxModelOptions = {}): Promise<OnnxThreadModel> {
    const model = new OnnxThreadModel(file, startWorker());
    const request = model.request({ op: 'load', file, options });
    loading.add(request);
    try {
      const meta = (await request) as { inputs: ValueInfo[]; outputs: ValueInfo[] };
      model.inputs = meta.inputs;
      model.outputs = meta.outputs;
    } catch (err) {
      await model.worker.terminate();
      throw err;
    } finally {
      loading.delete(request);
    }
    return model;
  }

  private request(msg: Omit<Extract<OnnxRequest, { op: 'load' }>, 'id'> | Omit<Extract<OnnxRequest, { op: 'run' }>, 'id'> | { op: 'release' }): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref(); // a pending request keeps the process alive until it is answered
      this.worker.postMessage({ ...msg, id });
    });
  }

  /** As OnnxModel.run (same checks and errors, made on the worker). */
  async run(feeds: Record<string, Feed>, outputNames?: string[]): Promise<Record<string, Tensor>> {
    // Plain arrays and typed arrays both survive the structured clone.
    return (await this.request({ op: 'run', feeds, outputNames })) as Record<string, Tensor>;
  }

  /** Free the session and end the worker. */
  async release(): Promise<void> {
    if (!this.failure) await this.request({ op: 'release' });
    this.failure ??= new Error('onnxruntime worker released');
    await this.worker.terminate();
  }
}
